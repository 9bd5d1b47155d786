/**
 * wasi:filesystem through Warden's host, called as a component's glue calls it (jco hands the
 * WASI error to the component as `payload`). Attacker cases: /etc/passwd, `..` escapes,
 * absolute paths, symbolic links planted inside the allowed directory that point out, rename,
 * unlink, link and symlink outside; each refused with the WASI error and an event naming the
 * rule; the allowed cases work.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { _createPreopenDescriptor } from "@bytecodealliance/preview2-shim/filesystem";
import { beforeAll, describe, expect, it } from "vitest";
import { Descriptor } from "../../../src/hosted/wasi/host.js";
import { hostWith, tempDir, wasiError } from "./helpers.js";

let root: string;
let allowed: string;
let outside: string;

beforeAll(() => {
  root = tempDir("warden-wasi-fs-");
  allowed = join(root, "allowed");
  outside = join(root, "outside");
  mkdirSync(join(allowed, "private"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(allowed, "data.txt"), "hello from the allowed dir");
  writeFileSync(join(allowed, "private", "key.txt"), "private");
  writeFileSync(join(outside, "secret.txt"), "outside secret");
  symlinkSync("../outside/secret.txt", join(allowed, "link")); // relative, points out
  symlinkSync("/etc/passwd", join(allowed, "passwd")); // absolute, points out
  symlinkSync("../outside", join(allowed, "outdir")); // a directory link that leaves
  symlinkSync("data.txt", join(allowed, "inner")); // a link that stays inside
});

function policy(access = "[read, write]") {
  return {
    source: [
      'version: "1.0"',
      "storage:",
      "  allow:",
      `    - uri: "fs://${allowed}/**"`,
      `      access: ${access}`,
      "  deny:",
      `    - uri: "fs://${allowed}/private/**"`,
      "",
    ].join("\n"),
    file: "fs-policy.yaml",
  };
}

function setup(access?: string) {
  const { host, events } = hostWith({
    component: "files",
    policy: policy(access),
    preopens: { "/data": allowed, "/": "/" },
  });
  const dirs = (
    host.imports["wasi:filesystem/preopens"]!.getDirectories as () => [Descriptor, string][]
  )();
  return { host, events, dirs, data: dirs[0]![0] };
}

const READ = { read: true };
const FOLLOW = { symlinkFollow: true };
const text = (r: unknown) => new TextDecoder().decode((r as [Uint8Array, boolean])[0]);

describe("wasi:filesystem preopens", () => {
  it("keeps only the directories the policy grants (/ is dropped, with an event)", () => {
    const { host, dirs, events } = setup();
    expect(dirs.map(([, p]) => p)).toEqual(["/data"]);
    expect(host.preopens).toEqual([{ guestPath: "/data", hostPath: allowed }]);
    expect(Descriptor.hostPath(dirs[0]![0])).toBe(allowed);
    const refused = events.find((e) => e.function === "preopen");
    expect(refused).toMatchObject({ decision: "deny", code: "no_rule", wasi_error: "access" });
    expect(refused?.hint).toContain("storage.allow");
  });
});

describe("wasi:filesystem allowed calls work", () => {
  it("opens and reads a file in the allowed directory", () => {
    const { data, events } = setup();
    const f = data.openAt(FOLLOW, "data.txt", {}, READ);
    expect(text(f.read(100n, 0n))).toBe("hello from the allowed dir");
    expect(events.filter((e) => e.decision === "deny" && e.function !== "preopen")).toEqual([]);
  });

  it("follows a symbolic link that stays inside", () => {
    const { data } = setup();
    expect(text(data.openAt(FOLLOW, "inner", {}, READ).read(5n, 0n))).toBe("hello");
  });

  it("stat-at, metadata-hash-at and readlink-at (made through the verified parent) answer as preview2-shim does", () => {
    const { data } = setup();
    const raw = _createPreopenDescriptor(allowed) as unknown as Descriptor;
    mkdirSync(join(allowed, "sub"), { recursive: true });
    writeFileSync(join(allowed, "sub", "s.txt"), "sub");
    for (const [flags, path] of [
      [FOLLOW, "data.txt"],
      [{}, "data.txt"],
      [FOLLOW, "inner"],
      [{}, "inner"],
      [{}, "sub"],
      [FOLLOW, "sub/s.txt"],
    ] as const) {
      expect(data.statAt(flags, path), path).toEqual(raw.statAt(flags, path));
      expect(data.metadataHashAt(flags, path), path).toEqual(raw.metadataHashAt(flags, path));
    }
    expect(data.readlinkAt("inner")).toBe(raw.readlinkAt("inner"));
    expect(wasiError(() => data.statAt({}, "missing"))).toBe(
      wasiError(() => raw.statAt({}, "missing")),
    );
    expect(wasiError(() => data.readlinkAt("data.txt"))).toBe(
      wasiError(() => raw.readlinkAt("data.txt")),
    );
  });

  it("creates and writes a file, then reads the directory", () => {
    const { data } = setup();
    const f = data.openAt({}, "new.txt", { create: true }, { write: true });
    f.write(new TextEncoder().encode("written"), 0n);
    expect(readFileSync(join(allowed, "new.txt"), "utf8")).toBe("written");
    const names: string[] = [];
    const dir = data.openAt({}, ".", { directory: true }, READ);
    const stream = dir.readDirectory() as { readDirectoryEntry(): { name: string } | undefined };
    for (let e = stream.readDirectoryEntry(); e !== undefined; e = stream.readDirectoryEntry())
      names.push(e.name);
    expect(names).toContain("new.txt");
  });
});

describe("wasi:filesystem attacker cases", () => {
  it("/etc/passwd by absolute path: not-permitted, with an event", () => {
    const { data, events } = setup();
    expect(wasiError(() => data.openAt(FOLLOW, "/etc/passwd", {}, READ))).toBe("not-permitted");
    const ev = events.at(-1)!;
    expect(ev).toMatchObject({
      kind: "decision",
      component: "files",
      interface: "wasi:filesystem/types",
      function: "[method]descriptor.open-at",
      decision: "deny",
      code: "host",
      wasi_error: "not-permitted",
    });
    expect(ev.reason).toContain("absolute path");
  });

  it("`..` escapes: not-permitted", () => {
    const { data } = setup();
    for (const p of ["../outside/secret.txt", "../../../../etc/passwd", "a/../../outside", "./.."])
      expect(
        wasiError(() => data.openAt(FOLLOW, p, {}, READ)),
        p,
      ).toBe("not-permitted");
  });

  it("a symbolic link planted inside that points out: access, naming the default deny and what to add", () => {
    const { data, events } = setup();
    expect(wasiError(() => data.openAt(FOLLOW, "link", {}, READ))).toBe("access");
    const ev = events.at(-1)!;
    expect(ev).toMatchObject({ decision: "deny", code: "no_rule", wasi_error: "access" });
    expect(ev.action).toEqual({ kind: "storage.read", uri: join(outside, "secret.txt") });
    expect(ev.hint).toContain(join(outside, "secret.txt"));
    expect(wasiError(() => data.openAt(FOLLOW, "passwd", {}, READ))).toBe("access");
    expect(events.at(-1)!.action).toEqual({ kind: "storage.read", uri: "/etc/passwd" });
    expect(wasiError(() => data.statAt(FOLLOW, "link"))).toBe("access");
    expect(wasiError(() => data.openAt(FOLLOW, "outdir/secret.txt", {}, READ))).toBe("access");
  });

  it("a deny rule names its file:line", () => {
    const { data, events } = setup();
    expect(wasiError(() => data.openAt(FOLLOW, "private/key.txt", {}, READ))).toBe("access");
    expect(events.at(-1)).toMatchObject({
      code: "deny_rule",
      rule: "fs-policy.yaml:7",
      rule_id: "storage.deny[0]",
    });
  });

  it("rename, unlink, link and symlink outside are refused", () => {
    const { data } = setup();
    expect(wasiError(() => data.renameAt("data.txt", data, "../outside/stolen.txt"))).toBe(
      "not-permitted",
    );
    expect(wasiError(() => data.renameAt("data.txt", data, "outdir/stolen.txt"))).toBe("access");
    expect(existsSync(join(outside, "stolen.txt"))).toBe(false);
    expect(wasiError(() => data.unlinkFileAt("outdir/secret.txt"))).toBe("access");
    expect(existsSync(join(outside, "secret.txt"))).toBe(true);
    expect(wasiError(() => data.linkAt({}, "outdir/secret.txt", data, "hard"))).toBe("access");
    expect(wasiError(() => data.symlinkAt("../outside/secret.txt", "new-link"))).toBe("access");
    expect(wasiError(() => data.symlinkAt("/etc/passwd", "new-link"))).toBe("not-permitted");
    expect(existsSync(join(allowed, "new-link"))).toBe(false);
  });

  it("set-times-at is judged as a write of the canonical path: links out, `..`, absolute paths and a denied folder are refused", () => {
    const { data, events } = setup();
    const at = (s: number) => ({ tag: "timestamp", val: { seconds: BigInt(s), nanoseconds: 0 } });
    const before = statSync(join(outside, "secret.txt")).mtimeMs;
    for (const [p, why] of [
      ["../outside/secret.txt", "not-permitted"],
      ["a/../../outside/secret.txt", "not-permitted"],
      ["/etc/passwd", "not-permitted"],
      ["outdir/secret.txt", "access"], // a folder link that leaves
      ["private/key.txt", "access"], // the deny rule
    ] as const)
      expect(
        wasiError(() => data.setTimesAt({}, p, at(1), at(1))),
        p,
      ).toBe(why);
    // the planted link, followed: its target is judged (as a write), not the link
    expect(wasiError(() => data.setTimesAt(FOLLOW, "link", at(1), at(1)))).toBe("access");
    expect(events.at(-1)).toMatchObject({
      function: "[method]descriptor.set-times-at",
      decision: "deny",
      wasi_error: "access",
      action: { kind: "storage.write", uri: join(outside, "secret.txt") },
    });
    expect(wasiError(() => data.setTimesAt(FOLLOW, "passwd", at(1), at(1)))).toBe("access");
    expect(statSync(join(outside, "secret.txt")).mtimeMs).toBe(before);
    expect(statSync(join(allowed, "private", "key.txt")).mtimeMs).not.toBe(1000);

    // allowed: a timestamp, `now` (the current time), `no-change` (the file's own)
    data.setTimesAt({}, "data.txt", at(1_000_000), at(2_000_000));
    expect(statSync(join(allowed, "data.txt"))).toMatchObject({
      atimeMs: 1_000_000_000,
      mtimeMs: 2_000_000_000,
    });
    data.setTimesAt(FOLLOW, "inner", { tag: "no-change" }, { tag: "now" });
    const st = statSync(join(allowed, "data.txt"));
    expect(st.atimeMs).toBe(1_000_000_000);
    expect(Math.abs(st.mtimeMs - Date.now())).toBeLessThan(60_000);
    // not followed: the link's own times (it is inside the allowed directory)
    data.setTimesAt({}, "link", at(3_000_000), at(3_000_000));
    expect(lstatSync(join(allowed, "link")).mtimeMs).toBe(3_000_000_000);
    expect(statSync(join(outside, "secret.txt")).mtimeMs).toBe(before);
    expect(wasiError(() => data.setTimesAt({}, "data.txt", { tag: "later" }, at(1)))).toBe(
      "invalid",
    );
  });

  it("a read-only grant refuses writes with access", () => {
    const { data, events } = setup("[read]");
    expect(wasiError(() => data.openAt({}, "w.txt", { create: true }, { write: true }))).toBe(
      "access",
    );
    expect(events.at(-1)!.hint).toContain("access: [write]");
    const f = data.openAt(FOLLOW, "data.txt", {}, READ);
    expect(wasiError(() => f.write(new Uint8Array([1]), 0n))).toBe("access");
    const now = { tag: "now" };
    expect(wasiError(() => data.setTimesAt({}, "data.txt", now, now))).toBe("access");
    expect(events.at(-1)!.hint).toContain("access: [write]");
  });
});

describe("wasi:filesystem metrics", () => {
  it("counts calls and refusals per host function", () => {
    const { host, data } = setup();
    data.openAt(FOLLOW, "data.txt", {}, READ);
    wasiError(() => data.openAt(FOLLOW, "link", {}, READ));
    const m = host.metrics().find((x) => x.function === "[method]descriptor.open-at");
    expect(m).toMatchObject({ interface: "wasi:filesystem/types", calls: 1, denied: 1 });
    expect(host.takeDenials().length).toBeGreaterThan(0);
  });
});
