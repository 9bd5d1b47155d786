/** `warden plugin test|inspect`, spawned as a user would run them (needs `npm run build`). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { warden } from "../cli/helpers.js";
import { BUILD, fixtureFile } from "./helpers.js";

function json(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

// Each spawn loads Binaryen and instruments a module: seconds each on a busy 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

describe("warden plugin test", () => {
  it("prints one JSON line; exits 1 when the verdict is false (a no), 0 when true", async () => {
    const file = await fixtureFile("scan");
    const r = warden(["plugin", "test", file, "--input", '{"tool":"fs.delete"}']);
    expect(r.code).toBe(1);
    const out = json(r.stdout);
    expect(out).toMatchObject({
      verdict: false,
      message: "delete is not allowed",
      memory_used_bytes: 131072,
    });
    expect(typeof out.duration_us).toBe("number");
    expect(out.fuel_used).toBeUndefined();
  });

  it("reads --input from stdin or a file; --fuel reports fuel_used; --function picks the export", async () => {
    const fromStdin = warden(
      ["plugin", "test", await fixtureFile("scan"), "--input", "-", "--fuel", "100000"],
      {
        input: '{"op":"delete"}',
      },
    );
    expect(fromStdin.code).toBe(1);
    expect(json(fromStdin.stdout)).toMatchObject({ verdict: false });
    expect(json(fromStdin.stdout).fuel_used).toBeGreaterThan(0);
    const input = join(BUILD, "input.json");
    writeFileSync(input, '{"tool":"fs.read"}');
    const r = warden([
      "plugin",
      "test",
      await fixtureFile("wrong-signature"),
      "--function",
      "check",
      "--input",
      input,
    ]);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ verdict: true });
  });

  it("a plugin failure prints {error:{code,message}} and exits 3", async () => {
    const loop = warden(["plugin", "test", await fixtureFile("loop"), "--timeout-ms", "20"]);
    expect(loop.code).toBe(3);
    const err = json(loop.stdout).error as { code: string; message: string };
    expect(err.code).toBe("timeout");
    expect(err.message).toContain("timeout_ms=20");
    const link = warden(["plugin", "test", await fixtureFile("link-env")]);
    expect(link.code).toBe(3);
    expect(json(link.stdout).error).toMatchObject({ code: "link_error" });
  });

  it("a missing plugin file is bad input: exit 2, with --json an {error} document", () => {
    const missing = warden(["plugin", "test", join(BUILD, "does-not-exist.wasm"), "--json"]);
    expect(missing.code).toBe(2);
    expect(json(missing.stdout).error).toMatchObject({ code: "not_found" });
    expect(missing.stderr).toMatch(/^warden: not_found: .*does-not-exist\.wasm/);
  });

  it("bad usage exits 2", async () => {
    const file = await fixtureFile("scan");
    for (const args of [
      ["--timeout-ms", "soon"],
      ["--timeout-ms", "0"],
      ["--memory-limit", "999999999999"],
      ["--input", "{not json"],
      ["--bogus"],
    ]) {
      const r = warden(["plugin", "test", file, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^(warden: |error: )/);
    }
    expect(warden(["plugin", "test"]).code).toBe(2);
  });
});

describe("warden plugin inspect", () => {
  it("describes a good plugin", async () => {
    const r = warden(["plugin", "inspect", await fixtureFile("allow")]);
    expect(r.code).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({
      kind: "core JSON ABI",
      problems: [],
      memory: { initial_bytes: 65536, maximum_bytes: null, imported: false },
    });
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.exports).toContainEqual({
      name: "evaluate",
      kind: "function",
      signature: "(i32, i32) -> (i64)",
    });
  });

  it("lists every problem Warden would refuse a module for", async () => {
    const link = json(warden(["plugin", "inspect", await fixtureFile("link-env")]).stdout);
    expect(link.kind).toBe("core");
    expect(link.imports).toEqual([{ module: "env", name: "steal_secrets", kind: "function" }]);
    expect(link.problems).toContainEqual(expect.objectContaining({ code: "link_error" }));
    const fat = json(warden(["plugin", "inspect", await fixtureFile("big-initial")]).stdout);
    expect(fat.problems).toContainEqual(expect.objectContaining({ code: "memory_exceeded" }));
    const junk = join(BUILD, "junk.wasm");
    writeFileSync(junk, "not wasm at all");
    const j = json(warden(["plugin", "inspect", junk]).stdout);
    expect(j).toMatchObject({ kind: "unknown", size: 15 });
    expect(j.problems).toContainEqual(expect.objectContaining({ code: "compile_error" }));
  });
});
