/**
 * Attacker tests: lengths a component passes to the WASI host, which the shim turned into
 * buffers of that size before anything was read or written. A 5-byte file read with
 * `read(2^31 - 1)` cost 16 s and over 4 GB of RSS (a zeroed 2 GiB buffer, cloned across the
 * shim's I/O thread); `skip(2^31 - 1)` on a stream made the shim's I/O call fail and call
 * process.exit; `write-zeroes` wrote whatever it was asked. Now a read or skip asks for at most
 * a bounded part (a shorter read is what WASI allows: the component reads again) and a write of
 * more zeroes than any component's memory holds is a trap.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_MEMORY_BYTES } from "../../../src/hosted/limits.js";
import { type Descriptor, MAX_READ_BYTES } from "../../../src/hosted/wasi/filesystem.js";
import { deniedFolderHost, deniedFolderTree } from "./helpers.js";

type Streams = {
  readViaStream(o: bigint): { skip(n: bigint): unknown; blockingSkip(n: bigint): unknown };
  writeViaStream(o: bigint): { writeZeroes(n: bigint): unknown };
};

const HUGE = 2n ** 31n - 1n;

function setup() {
  const allowed = deniedFolderTree("warden-wasi-hostile-lengths-", { "readme.txt": "hello" });
  const { data } = deniedFolderHost(allowed, "read, write");
  const open = (write = false) =>
    data.openAt(
      { symlinkFollow: true },
      "readme.txt",
      {},
      write ? { write: true } : { read: true },
    ) as Descriptor & Streams;
  return { allowed, open };
}

describe("wasi:filesystem and wasi:io: lengths a component asks for", () => {
  it("read(2^31 - 1) of a 5-byte file reads it through a bounded buffer", () => {
    const { open } = setup();
    const [bytes, eof] = open().read(HUGE, 0n) as [Uint8Array, boolean];
    expect(new TextDecoder().decode(bytes)).toBe("hello");
    expect(eof).toBe(false);
    expect(bytes.buffer.byteLength).toBeLessThanOrEqual(MAX_READ_BYTES);
    expect((open().read(HUGE, 5n) as [Uint8Array, boolean])[1]).toBe(true);
  });

  it("skip(2^31 - 1) on a file's stream returns (the thread goes on)", () => {
    const { open } = setup();
    const s = (open() as unknown as Streams).readViaStream(0n);
    // Returns, or says the stream ended (`closed`: a file read by Warden, at its end).
    const returns = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toEqual({ tag: "closed" });
      }
    };
    returns(() => s.skip(HUGE));
    returns(() => s.blockingSkip(HUGE));
  });

  it("write-zeroes past what a component's memory holds is a trap; the file is untouched", () => {
    const { allowed, open } = setup();
    const s = (open(true) as unknown as Streams).writeViaStream(0n);
    let err: unknown;
    try {
      s.writeZeroes(BigInt(MAX_MEMORY_BYTES) + 1n);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "hosted_wasi_trap" });
    expect(readFileSync(join(allowed, "readme.txt"), "utf8")).toBe("hello");
  });
});
