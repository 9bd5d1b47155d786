/**
 * A regular file opened for reading by Warden itself, in the component's own worker thread
 * (node's synchronous fs calls), instead of through preview2-shim's I/O worker, where every
 * descriptor operation (the open, the check of what was opened, the stream, each read, the
 * close) is a synchronous round trip to another thread (tens of µs each).
 *
 * The open is verified the way Warden verifies a directory it opens (`openVerifiedDir` in
 * ./filesystem.ts): the file is opened at the judged canonical path with `O_NOFOLLOW` (no link
 * followed at its last step), and `/proc/self/fd/<fd>` must read back as that path, so a link
 * or folder swapped in since the check is never read through (the caller then takes the shim's
 * path, which verifies and refuses it, audited). Only a regular file is taken (a FIFO or a
 * device would block or act on open; `O_NONBLOCK` keeps the open itself from waiting).
 *
 * The descriptor (`OwnFile`) and its input streams share the file descriptor, counted: it is
 * closed when the descriptor and every stream made from it are dropped (a stream kept after its
 * descriptor is dropped reads on; the number is never reused under it). The methods are the
 * shim's descriptor's, with the shim's answers for a descriptor opened read-only.
 */
import {
  type BigIntStats,
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  futimesSync,
  openSync,
  readlinkSync,
  readSync,
} from "node:fs";
import { monotonicClock } from "@bytecodealliance/preview2-shim/clocks";
import { error as ioError, streams as ioStreams } from "@bytecodealliance/preview2-shim/io";

import { fsErrorCode, secondsOf } from "./fs-codes.js";

const symbolDispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for("dispose");
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The most one stream read returns (the shim's file streams: 64 KiB chunks). */
const MAX_READ = 64 * 1024;

const InputStreamProto = (ioStreams as unknown as { InputStream: { prototype: object } })
  .InputStream.prototype;
const IoError = (ioError as unknown as { Error: new (m: unknown) => Error }).Error;

/** A file descriptor shared by a descriptor and its streams, closed when the last is dropped. */
class Shared {
  #refs = 1;
  constructor(readonly fd: number) {}
  retain(): this {
    this.#refs++;
    return this;
  }
  release(): void {
    if (--this.#refs > 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
const released = new FinalizationRegistry<Shared>((s) => s.release());

/**
 * Open `real` (a judged, canonical path) for reading, verified. Undefined when Warden does not
 * take this open (an open error, such as a link at the last step; not a regular file): the
 * caller opens it through the shim as before. `"swapped"` when what was opened is not at
 * `real` (a link or folder swapped in since the check): nothing is left open, the caller
 * refuses.
 */
export function openOwnFile(real: string, flags: unknown): OwnFile | "swapped" | undefined {
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch {
    return undefined;
  }
  let file = false;
  let at = "";
  try {
    file = fstatSync(fd).isFile();
    at = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // not verified: refused below
  }
  if (file && at === real) return new OwnFile(new Shared(fd), flags);
  closeSync(fd);
  return file ? "swapped" : undefined;
}

function typeOf(st: ReturnType<typeof fstatSync>): string {
  return st?.isFile() ? "regular-file" : "unknown";
}

function timeOf(ns: bigint) {
  return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
}

/** Read up to `len` bytes at `offset` (a short read only at the end). */
function readAt(fd: number, len: number, offset: number): Uint8Array {
  const buf = Buffer.allocUnsafe(len);
  let n = 0;
  while (n < len) {
    const got = readSync(fd, buf, n, len - n, offset + n);
    if (got === 0) break;
    n += got;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

/** An input stream of an own file: jco's glue sees the shim's InputStream class. */
function inputStream(shared: Shared, start: number): object {
  let offset = start;
  let open = true;
  const failed = (e: unknown) => ({
    tag: "last-operation-failed",
    val: new IoError(new Error((e as Error)?.message ?? String(e))),
  });
  const read = (len: unknown): Uint8Array => {
    if (!open) throw { tag: "closed" };
    const want = Math.min(MAX_READ, Math.max(0, Number(len)));
    if (want === 0) return new Uint8Array(0);
    let bytes: Uint8Array;
    try {
      bytes = readAt(shared.fd, want, offset);
    } catch (e) {
      throw failed(e);
    }
    if (bytes.length === 0) throw { tag: "closed" };
    offset += bytes.length;
    return bytes;
  };
  const skip = (len: unknown): bigint => BigInt(read(len).length);
  const stream = Object.create(InputStreamProto, {
    read: { value: read },
    blockingRead: { value: read },
    skip: { value: skip },
    blockingSkip: { value: skip },
    // A file is always ready: a pollable that is (a zero duration).
    subscribe: {
      value: () =>
        (monotonicClock as unknown as { subscribeDuration(d: bigint): unknown }).subscribeDuration(
          0n,
        ),
    },
  }) as object;
  const s = shared.retain();
  released.register(stream, s, stream);
  Object.defineProperty(stream, symbolDispose, {
    value: () => {
      if (!open) return;
      open = false;
      released.unregister(stream);
      s.release();
    },
  });
  return stream;
}

/** A regular file Warden opened for reading (see the top of this file). */
export class OwnFile {
  #shared: Shared | undefined;
  readonly #flags: unknown;
  constructor(shared: Shared, flags: unknown) {
    this.#shared = shared;
    this.#flags = flags;
    released.register(this, shared, this);
  }
  #fd(): number {
    if (this.#shared === undefined) throw "bad-descriptor";
    return this.#shared.fd;
  }
  readViaStream(offset: bigint): unknown {
    this.#fd();
    return inputStream(this.#shared!, Number(offset));
  }
  writeViaStream(): never {
    throw "bad-descriptor";
  }
  appendViaStream(): never {
    throw "bad-descriptor";
  }
  advise(): void {
    this.#fd();
  }
  syncData(): void {
    try {
      fdatasyncSync(this.#fd());
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
  }
  sync(): void {
    try {
      fsyncSync(this.#fd());
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
  }
  getFlags(): unknown {
    this.#fd();
    return this.#flags;
  }
  getType(): string {
    try {
      return typeOf(fstatSync(this.#fd()));
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
  }
  setSize(): never {
    throw "bad-descriptor";
  }
  setTimes(atime: unknown, mtime: unknown): void {
    const fd = this.#fd();
    try {
      const st = fstatSync(fd);
      futimesSync(fd, secondsOf(atime, st.atimeMs), secondsOf(mtime, st.mtimeMs));
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
  }
  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const fd = this.#fd();
    try {
      const bytes = readAt(fd, Math.min(MAX_READ, Number(length)), Number(offset));
      return [bytes, bytes.length === 0];
    } catch (e) {
      throw fsErrorCode(e);
    }
  }
  write(): never {
    throw "bad-descriptor";
  }
  stat(): unknown {
    let st: BigIntStats;
    try {
      st = fstatSync(this.#fd(), { bigint: true });
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
    return {
      type: st.isFile() ? "regular-file" : "unknown",
      linkCount: st.nlink,
      size: st.size,
      dataAccessTimestamp: timeOf(st.atimeNs),
      dataModificationTimestamp: timeOf(st.mtimeNs),
      statusChangeTimestamp: timeOf(st.ctimeNs),
    };
  }
  metadataHash(): unknown {
    try {
      const st = fstatSync(this.#fd(), { bigint: true });
      return { upper: st.mtimeNs, lower: st.ino };
    } catch (e) {
      throw typeof e === "string" ? e : fsErrorCode(e);
    }
  }
  [symbolDispose](): void {
    const s = this.#shared;
    if (s === undefined) return;
    this.#shared = undefined;
    released.unregister(this);
    s.release();
  }
}

// A file is not a directory: every call that names a path from it (the shim's answer).
for (const name of [
  "readDirectory",
  "createDirectoryAt",
  "statAt",
  "setTimesAt",
  "linkAt",
  "openAt",
  "readlinkAt",
  "removeDirectoryAt",
  "renameAt",
  "symlinkAt",
  "unlinkFileAt",
  "metadataHashAt",
])
  Object.defineProperty(OwnFile.prototype, name, {
    value: () => {
      throw "not-directory";
    },
  });
