/**
 * A regular file opened to be read is opened by Warden in the component's own thread
 * (src/hosted/wasi/own-file.ts), not through preview2-shim's I/O worker: it answers as the
 * shim's descriptor does, its streams keep the file open after the descriptor is dropped (the
 * file descriptor's number is never reused under them), and an open whose path does not lead
 * to the judged file (a folder swapped for a link) is refused, never read.
 */
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { _createPreopenDescriptor } from "@bytecodealliance/preview2-shim/filesystem";
import { beforeAll, describe, expect, it } from "vitest";
import type { Descriptor } from "../../../src/hosted/wasi/host.js";
import { OwnFile, openOwnFile } from "../../../src/hosted/wasi/own-file.js";
import { hostWith, tempDir, wasiError } from "./helpers.js";

let allowed: string;
let outside: string;

beforeAll(() => {
  const root = tempDir("warden-wasi-own-");
  allowed = join(root, "allowed");
  outside = join(root, "outside");
  mkdirSync(join(allowed, "sub"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(allowed, "data.txt"), "hello from the allowed dir");
  writeFileSync(join(outside, "secret.txt"), "outside secret");
  symlinkSync("../outside", join(allowed, "outdir"));
});

function setup() {
  const { host, events } = hostWith({
    component: "files",
    policy: {
      source: `version: "1.0"\nstorage:\n  allow:\n    - uri: "fs://${allowed}/**"\n      access: [read, write]\n`,
      file: "own-policy.yaml",
    },
    preopens: { "/data": allowed },
  });
  const dirs = (
    host.imports["wasi:filesystem/preopens"]!.getDirectories as () => [Descriptor, string][]
  )();
  return { events, data: dirs[0]![0] };
}

const READ = { read: true };
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** The process's open file descriptors pointing at `path`. */
const fdsOn = (path: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

describe.runIf(process.platform === "linux")("a file opened to be read, by Warden", () => {
  it("answers as preview2-shim's descriptor does (read, stat, type, hash, flags, errors)", () => {
    const { data } = setup();
    const raw = _createPreopenDescriptor(allowed) as unknown as Descriptor;
    const own = data.openAt({}, "data.txt", {}, READ);
    const shim = raw.openAt({}, "data.txt", {}, READ);
    expect(own.read(5n, 0n)).toEqual(shim.read(5n, 0n));
    expect(own.read(100n, 1000n)).toEqual(shim.read(100n, 1000n));
    expect(own.stat()).toEqual(shim.stat());
    expect(own.getType()).toBe(shim.getType());
    expect(own.metadataHash()).toEqual(shim.metadataHash());
    expect(own.getFlags()).toEqual(shim.getFlags());
    expect(wasiError(() => own.openAt({}, "x", {}, READ))).toBe("not-directory");
    expect(wasiError(() => own.write(new Uint8Array(1), 0n))).toBe("bad-descriptor");
    expect(wasiError(() => own.setSize(0n))).toBe("bad-descriptor");
    (shim as unknown as Record<symbol, () => void>)[Symbol.dispose]!();
    (own as unknown as Record<symbol, () => void>)[Symbol.dispose]!();
    expect(wasiError(() => own.read(1n, 0n))).toBe("bad-descriptor");
  });

  it("reads through a stream to its end, and the stream outlives its descriptor", () => {
    const { data } = setup();
    const path = join(allowed, "data.txt");
    const before = fdsOn(path);
    const f = data.openAt({}, "data.txt", {}, READ);
    expect(fdsOn(path)).toBe(before + 1);
    type Stream = { blockingRead(n: bigint): Uint8Array; [Symbol.dispose](): void };
    const s = f.readViaStream(6n) as unknown as Stream;
    (f as unknown as Record<symbol, () => void>)[Symbol.dispose]!();
    // The descriptor is dropped; its stream still reads its own file (the number is kept).
    expect(fdsOn(path)).toBe(before + 1);
    expect(dec(s.blockingRead(4n))).toBe("from");
    expect(dec(s.blockingRead(100n))).toBe(" the allowed dir");
    expect(() => s.blockingRead(1n)).toThrow();
    try {
      s.blockingRead(1n);
    } catch (e) {
      expect(e).toEqual({ tag: "closed" });
    }
    s[Symbol.dispose]();
    expect(fdsOn(path)).toBe(before);
  });

  it("refuses what does not read back as the judged path (a folder swapped for a link), leaving nothing open", () => {
    // `outdir` is a link: a path through it is not canonical, as a folder swapped for a link
    // between the check and the open would make it.
    const through = join(allowed, "outdir", "secret.txt");
    const before = fdsOn(join(outside, "secret.txt"));
    expect(openOwnFile(through, READ)).toBe("swapped");
    expect(fdsOn(join(outside, "secret.txt"))).toBe(before);
    // Not a regular file (a folder), or a link at the last step: left to the shim.
    expect(openOwnFile(join(allowed, "sub"), READ)).toBeUndefined();
    expect(openOwnFile(join(allowed, "outdir"), READ)).toBeUndefined();
    const ok = openOwnFile(join(allowed, "data.txt"), READ);
    expect(ok).toBeInstanceOf(OwnFile);
    (ok as unknown as Record<symbol, () => void>)[Symbol.dispose]!();
  });

  it("a guest's open through a link out of the directory is still refused with the policy's error", () => {
    const { data, events } = setup();
    expect(
      wasiError(() => data.openAt({ symlinkFollow: true }, "outdir/secret.txt", {}, READ)),
    ).toBe("access");
    expect(
      events.some((e) => e.decision === "deny" && e.function === "[method]descriptor.open-at"),
    ).toBe(true);
  });
});
