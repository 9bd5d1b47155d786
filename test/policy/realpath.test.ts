import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compilePolicy, loadPolicyFile, resolveRealPath } from "../../src/policy/index.js";

const dir = mkdtempSync(join(tmpdir(), "warden-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const real = await resolveRealPath(dir);
mkdirSync(join(dir, "allowed"));
mkdirSync(join(dir, "secret"));
writeFileSync(join(dir, "secret", "key"), "k");
symlinkSync(join(dir, "secret"), join(dir, "allowed", "link"));
symlinkSync("/etc", join(dir, "allowed", "etc"));

describe("resolveRealPath: symlinks are resolved at the host boundary", () => {
  const r = compilePolicy(
    `storage:\n  allow:\n    - uri: "${real}/allowed/**"\n      access: [read, write]\n  deny:\n    - uri: "/etc/**"\n`,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const p = r.policy;

  it("judges a link into another tree as its target", async () => {
    const raw = join(real, "allowed", "link", "key");
    expect(p.check({ kind: "storage.read", uri: raw }).allowed).toBe(true); // the lexical path looks allowed
    const resolved = await resolveRealPath(raw);
    expect(resolved).toBe(join(real, "secret", "key"));
    expect(p.check({ kind: "storage.read", uri: resolved }).allowed).toBe(false);
  });

  it("judges /tmp/link -> /etc as /etc", async () => {
    const resolved = await resolveRealPath(join(real, "allowed", "etc", "passwd"));
    expect(resolved).toBe("/etc/passwd");
    expect(p.check({ kind: "storage.read", uri: resolved })).toMatchObject({
      allowed: false,
      code: "deny_rule",
    });
  });

  it("resolves a path whose tail does not exist through its nearest existing parent", async () => {
    const resolved = await resolveRealPath(join(real, "allowed", "link", "new", "file.txt"));
    expect(resolved).toBe(join(real, "secret", "new", "file.txt"));
    expect(p.check({ kind: "storage.write", uri: resolved }).allowed).toBe(false);
    expect(await resolveRealPath(join(real, "allowed", "new.txt"))).toBe(
      join(real, "allowed", "new.txt"),
    );
  });
});

describe("loadPolicyFile", () => {
  it("reads and compiles, naming the file in rules", async () => {
    const f = join(dir, "p.yaml");
    writeFileSync(f, `mcp:\n  tools:\n    allow: [calc]\n`);
    const r = await loadPolicyFile(f);
    expect(r.ok && r.policy.check({ kind: "tool.call", name: "calc" }).rule).toBe(`${f}:3`);
  });

  it("reports a missing file as a located error", async () => {
    const r = await loadPolicyFile(join(dir, "missing.yaml"));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatchObject({
      file: join(dir, "missing.yaml"),
      code: "policy_file",
      line: 1,
      col: 1,
    });
  });
});
