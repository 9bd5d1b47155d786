/**
 * `CheckOptions.realPath` with `resolveRealPathSync`: the check is made on the file the host
 * would open (symbolic links followed), for path arguments, storage paths and `file:` resource
 * URIs; what cannot be resolved safely is denied. Without it, paths are judged as strings.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type CheckOptions,
  type CompiledPolicy,
  compilePolicy,
  resolveRealPathSync,
} from "../../src/policy/index.js";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "warden-realsync-")));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pub = join(dir, "pub");
const secret = join(dir, "secret");
mkdirSync(pub);
mkdirSync(secret);
mkdirSync(join(pub, "sub"));
writeFileSync(join(secret, "s.txt"), "secret");
writeFileSync(join(pub, "a.txt"), "a");
symlinkSync("../secret/s.txt", join(pub, "link.txt")); // relative target
symlinkSync(secret, join(pub, "dirlink"));
symlinkSync(join(secret, "new.txt"), join(pub, "dangling")); // target does not exist yet
symlinkSync("a.txt", join(pub, "inside.txt")); // a link that stays inside
symlinkSync(join(pub, "loop1"), join(pub, "loop2"));
symlinkSync(join(pub, "loop2"), join(pub, "loop1"));

function policy(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "p.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const P = policy(`version: "1.0"
storage:
  allow:
    - uri: "${pub}/**"
      access: [read, write]
mcp:
  tools:
    allow:
      - name: read_text_file
        parameters:
          path: "${pub}/**"
      - name: read_multiple_files
        parameters:
          paths: { items: "${pub}/**" }
  resources:
    allow:
      - "file://${pub}/**"
`);

const LOCAL: CheckOptions = { realPath: resolveRealPathSync };
const tool = (path: string) => ({ kind: "tool.call", name: "read_text_file", arguments: { path } });

describe("resolveRealPathSync", () => {
  it("resolves the longest existing prefix and appends the rest", () => {
    expect(resolveRealPathSync(join(pub, "a.txt"))).toBe(join(pub, "a.txt"));
    expect(resolveRealPathSync(join(pub, "link.txt"))).toBe(join(secret, "s.txt"));
    expect(resolveRealPathSync(join(pub, "dirlink", "s.txt"))).toBe(join(secret, "s.txt"));
    expect(resolveRealPathSync(join(pub, "dirlink", "no", "such"))).toBe(
      join(secret, "no", "such"),
    );
    expect(resolveRealPathSync(join(pub, "new", "file.txt"))).toBe(join(pub, "new", "file.txt"));
    expect(resolveRealPathSync("/")).toBe("/");
  });

  it("follows a dangling link to where a write through it would land", () => {
    expect(resolveRealPathSync(join(pub, "dangling"))).toBe(join(secret, "new.txt"));
  });

  it("refuses a loop and a '..' after a symbolic link", () => {
    expect(resolveRealPathSync(join(pub, "loop1"))).toMatchObject({
      refused: expect.stringMatching(/too many symbolic links/),
    });
    // The kernel opens <secret>/../x, a lexical reader <pub>/x: refused as ambiguous.
    const raw = `${pub}/dirlink/../a.txt`;
    expect(resolveRealPathSync(join(pub, "a.txt"), raw)).toMatchObject({
      refused: expect.stringMatching(/"\.\." follows the symbolic link in .*dirlink/),
    });
    // A '..' after real directories only is fine.
    expect(resolveRealPathSync(join(pub, "a.txt"), `${pub}/sub/../a.txt`)).toBe(join(pub, "a.txt"));
  });
});

describe("checks with realPath judge the file the host opens", () => {
  it("denies a file symlink out of the allowed tree (allowed as a string)", () => {
    const raw = join(pub, "link.txt");
    expect(P.check(tool(raw)).allowed).toBe(true);
    const d = P.check(tool(raw), LOCAL);
    expect(d).toMatchObject({ allowed: false, code: "condition" });
    expect(d.reason).toContain(`resolves through symbolic links to "${join(secret, "s.txt")}"`);
  });

  it("denies a path through a directory symlink, and the link directory itself", () => {
    expect(P.check(tool(join(pub, "dirlink", "s.txt")), LOCAL).allowed).toBe(false);
    expect(P.check(tool(join(pub, "dirlink")), LOCAL).allowed).toBe(false);
  });

  it("denies a dangling link, a loop and '..' after a link", () => {
    expect(P.check(tool(join(pub, "dangling")), LOCAL).allowed).toBe(false);
    expect(P.check(tool(join(pub, "loop1")), LOCAL).reason).toMatch(/too many symbolic links/);
    expect(P.check(tool(`${pub}/dirlink/../a.txt`), LOCAL).reason).toMatch(/follows the symbolic/);
  });

  it("allows real paths, links that stay inside, and files not yet created", () => {
    expect(P.check(tool(join(pub, "a.txt")), LOCAL).allowed).toBe(true);
    expect(P.check(tool(join(pub, "inside.txt")), LOCAL).allowed).toBe(true);
    expect(P.check(tool(join(pub, "sub", "new.txt")), LOCAL).allowed).toBe(true);
  });

  it("resolves every element of items", () => {
    const multi = (paths: string[]) => ({
      kind: "tool.call",
      name: "read_multiple_files",
      arguments: { paths },
    });
    expect(P.check(multi([join(pub, "a.txt")]), LOCAL).allowed).toBe(true);
    const d = P.check(multi([join(pub, "a.txt"), join(pub, "link.txt")]), LOCAL);
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(
      /"paths" \[1\] is .*link\.txt", which resolves through symbolic links/,
    );
  });

  it("resolves storage paths and file: resource URIs", () => {
    expect(P.check({ kind: "storage.read", uri: join(pub, "link.txt") }).allowed).toBe(true);
    const s = P.check({ kind: "storage.read", uri: join(pub, "link.txt") }, LOCAL);
    expect(s).toMatchObject({ allowed: false });
    expect(P.check({ kind: "storage.write", uri: join(pub, "dangling") }, LOCAL).allowed).toBe(
      false,
    );
    const uri = `file://${pub}/dirlink/s.txt`;
    expect(P.check({ kind: "resource.read", uri }).allowed).toBe(true);
    expect(P.check({ kind: "resource.read", uri }, LOCAL).allowed).toBe(false);
    expect(P.check({ kind: "resource.read", uri: `file://${pub}/a.txt` }, LOCAL).allowed).toBe(
      true,
    );
  });

  it("is not remembered: a link created after a check changes the next answer", () => {
    const p = join(pub, "later.txt");
    expect(P.check(tool(p), LOCAL).allowed).toBe(true);
    symlinkSync(join(secret, "s.txt"), p);
    expect(P.check(tool(p), LOCAL).allowed).toBe(false);
    expect(P.check({ kind: "storage.read", uri: p }, LOCAL).allowed).toBe(false);
  });

  it("explains with the resolved path", () => {
    const d = P.check(
      { kind: "storage.read", uri: join(pub, "inside.txt") },
      { ...LOCAL, explain: true },
    );
    expect(d.explanation?.input).toEqual({ kind: "storage.read", uri: join(pub, "a.txt") });
  });
});

describe("file: URIs behind a gateway prefix (<upstream>+file:)", () => {
  const Q = policy(`version: "1.0"
mcp:
  resources:
    allow: ["fs+file://${pub}/**"]
`);
  it("are paths: canonicalized as paths and resolved like file: URIs", () => {
    expect(Q.check({ kind: "resource.read", uri: `fs+file://${pub}/a.txt` }, LOCAL).allowed).toBe(
      true,
    );
    expect(Q.check({ kind: "resource.read", uri: `FS+File://${pub}/x/../a.txt` }).allowed).toBe(
      true,
    );
    const link = `fs+file://${pub}/dirlink/s.txt`;
    expect(Q.check({ kind: "resource.read", uri: link }).allowed).toBe(true);
    expect(Q.check({ kind: "resource.read", uri: link }, LOCAL).allowed).toBe(false);
    expect(
      Q.check({ kind: "resource.read", uri: `fs+file://${pub}\\x/../secret/s.txt` }).allowed,
    ).toBe(false);
  });
});

describe("case_insensitive storage with realPath", () => {
  const CI = policy(`version: "1.0"
storage:
  case_insensitive: true
  allow:
    - uri: "${pub}/**"
      access: [read]
`);
  it("resolves the path as written, then compares without case", () => {
    const upper = join(pub, "Up.txt");
    symlinkSync(join(secret, "s.txt"), upper); // on a case-sensitive file system, only "Up.txt" is the link
    expect(CI.check({ kind: "storage.read", uri: upper }, LOCAL).allowed).toBe(false);
    expect(CI.check({ kind: "storage.read", uri: join(pub, "A.TXT") }, LOCAL).allowed).toBe(true);
  });
});
