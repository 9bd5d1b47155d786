/**
 * wasi:filesystem (types + preopens), every method checked by the policy before the real one
 * runs. The real work is preview2-shim's (node): each `Descriptor` here wraps one of the
 * shim's and knows the real host path it stands for, so a call is judged on the file it
 * touches: the guest's path joined to it, `..` and absolute paths refused (`not-permitted`:
 * they would leave the directory the descriptor grants), symbolic links resolved
 * (`resolveRealPathSync`), then `storage.read` / `storage.write` asked on the canonical real
 * path; a refusal is the WASI error `access`. Methods are listed one by one (reviewed); a
 * method WASI adds later is absent, so jco's glue fails the call (deny by default).
 *
 * Race: the path is resolved and judged, then the shim opens it (it walks the path again,
 * refusing absolute symbolic links and links that climb out of its preopen). Instances of one
 * component on other worker threads share its preopens, and a host process may change the
 * tree, so a link or folder can be swapped between the two: every open (file or directory) is
 * verified after the fact (`#verifyOpened`: the opened descriptor's inode against the judged
 * canonical path's) and refused if it is not the file judged; a regular file opened only to be
 * read is opened by Warden itself at the judged path and verified there (./own-file.ts). The other calls that take a path
 * (stat-at, metadata-hash-at, readlink-at, unlink, rmdir, mkdir, symlink, rename, link,
 * set-times-at) act through their parent directory, opened and verified (`#inVerifiedParents`,
 * Linux), and read-directory through the directory opened again and verified: see
 * docs/hosted-tools.md ("Races").
 */
import {
  type BigIntStats,
  closeSync,
  constants,
  type Dir,
  type Dirent,
  existsSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  opendirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { basename, dirname } from "node:path";
import {
  _createPreopenDescriptor,
  types as shimTypes,
} from "@bytecodealliance/preview2-shim/filesystem";
import { canonicalPathOf } from "../../policy/canon/path.js";
import { resolveRealPathSync } from "../../policy/io.js";
import type { Action } from "../../policy/types.js";
import type { Crossings } from "./crossing.js";
import { fsErrorCode, secondsOf } from "./fs-codes.js";
import { OwnFile, openOwnFile } from "./own-file.js";

const TYPES = "wasi:filesystem/types";
/** Entries a renamed folder may hold for the rename to be judged (each moved one is). */
const MAX_MOVED = 10_000;
/**
 * The most bytes one `read` asks of the file: the shim makes a zeroed buffer of the length the
 * component asks for before reading (2^31 - 1 asked of a 5-byte file cost 16 s and GiBs of RSS);
 * a shorter read is what WASI allows (the component reads again).
 */
export const MAX_READ_BYTES = 16 * 1024 * 1024;
const PREOPENS = "wasi:filesystem/preopens";
const symbolDispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for("dispose");

/** Linux: an open directory's real path is `/proc/self/fd/<fd>`, and paths resolve through it. */
const PROC_FD = process.platform === "linux" && existsSync("/proc/self/fd");
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Open the directory `dir` (`O_DIRECTORY | O_NOFOLLOW`: no link followed at its last step) and
 * verify it is `dir`: `/proc/self/fd/<fd>` must read back as it (Linux). The open descriptor, or
 * undefined (nothing left open) when a link is there or the folder was swapped (the caller
 * refuses, `access`); any other open error is thrown as its WASI error code.
 */
function openVerifiedDir(dir: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(dir, DIR_FLAGS);
  } catch (e) {
    if ((e as { code?: string }).code === "ELOOP") return undefined;
    throw fsErrorCode(e);
  }
  let opened = "";
  try {
    opened = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // not verified: refused below
  }
  if (opened === dir) return fd;
  closeSync(fd);
  return undefined;
}

/** A descriptor-stat as preview2-shim makes it (stat-at). */
/** The descriptor-type preview2-shim gives a stat or a directory entry. */
function typeOf(st: BigIntStats | Dirent): string {
  return st.isFile()
    ? "regular-file"
    : st.isSocket()
      ? "socket"
      : st.isSymbolicLink()
        ? "symbolic-link"
        : st.isFIFO()
          ? "fifo"
          : st.isDirectory()
            ? "directory"
            : st.isCharacterDevice()
              ? "character-device"
              : st.isBlockDevice()
                ? "block-device"
                : "unknown";
}

/**
 * The entries of a directory opened by Warden through `/proc/self/fd` (read-directory): a
 * preview2-shim `DirectoryEntryStream` (jco's glue checks the class), reading Warden's `Dir`.
 */
const ShimEntries = (shimTypes as unknown as { DirectoryEntryStream: new () => object })
  .DirectoryEntryStream;
const closeDir = new FinalizationRegistry<Dir>((d) => {
  try {
    d.closeSync();
  } catch {
    // already closed
  }
});
class VerifiedEntries extends ShimEntries {
  #dir: Dir | undefined;
  constructor(dir: Dir) {
    super();
    this.#dir = dir;
    closeDir.register(this, dir, this);
  }
  readDirectoryEntry(): { name: string; type: string } | undefined {
    if (this.#dir === undefined) throw "bad-descriptor";
    let e: Dirent | null;
    try {
      e = this.#dir.readSync();
    } catch (err) {
      throw fsErrorCode(err);
    }
    return e === null ? undefined : { name: e.name, type: typeOf(e) };
  }
  [symbolDispose](): void {
    if (this.#dir === undefined) return;
    closeDir.unregister(this);
    try {
      this.#dir.closeSync();
    } catch {
      // already closed
    }
    this.#dir = undefined;
  }
}

/** A descriptor-stat as preview2-shim makes it (stat-at). */
function statOf(st: BigIntStats): unknown {
  const type = typeOf(st);
  const time = (ns: bigint) => ({
    seconds: ns / 1_000_000_000n,
    nanoseconds: Number(ns % 1_000_000_000n),
  });
  return {
    type,
    linkCount: st.nlink,
    size: st.size,
    dataAccessTimestamp: time(st.atimeNs),
    dataModificationTimestamp: time(st.mtimeNs),
    statusChangeTimestamp: time(st.ctimeNs),
  };
}

/** The `open(2)` flags that make an open's change (create, exclusive, truncate), links not followed. */
function changeFlags(open: OpenFlags): number {
  return (
    constants.O_WRONLY |
    constants.O_NOFOLLOW |
    (open.create === true ? constants.O_CREAT : 0) |
    (open.create === true && open.exclusive === true ? constants.O_EXCL : 0) |
    (open.truncate === true ? constants.O_TRUNC : 0)
  );
}

/** The shim's descriptor, as far as this file uses it. */
type Inner = Record<string, (...args: unknown[]) => unknown>;
interface PathFlags {
  symlinkFollow?: boolean;
}
interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}
interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  mutateDirectory?: boolean;
}

/** What a descriptor needs from its host (one per component instance). */
export interface FsContext {
  readonly crossings: Crossings;
}

type Access = "read" | "write";
const ACTION: Record<Access, "storage.read" | "storage.write"> = {
  read: "storage.read",
  write: "storage.write",
};

function action(access: Access, uri: string): Action {
  return { kind: ACTION[access], uri };
}

/** The guarded descriptor: the class jco's glue sees as `wasi:filesystem/types.descriptor`. */
export class Descriptor {
  readonly #inner: Inner;
  /** The real, canonical host path this descriptor stands for. */
  readonly #path: string;
  readonly #ctx: FsContext;

  /** @internal made by the host only (a component cannot construct a descriptor). */
  constructor(inner: unknown, path: string, ctx: FsContext, token: symbol) {
    if (token !== MAKE) throw new TypeError("Descriptor cannot be constructed");
    this.#inner = inner as Inner;
    this.#path = path;
    this.#ctx = ctx;
  }

  /** The real host path (for the host and tests; not part of WASI). */
  static hostPath(d: Descriptor): string {
    return d.#path;
  }

  #run<T>(fn: string, act: Action | undefined, target: () => T): T {
    return this.#ctx.crossings.run(TYPES, `[method]descriptor.${fn}`, act, "access", target);
  }

  #call(name: string, ...args: unknown[]): unknown {
    return this.#inner[name]!.apply(this.#inner, args);
  }

  /**
   * The real path a guest path names from this descriptor, or a refusal (thrown): absolute
   * paths and `..` above the descriptor are `not-permitted`; a path whose links cannot be
   * resolved safely is `access`. `follow`: resolve a link in the last component too.
   */
  #resolve(fn: string, access: Access, path: string, follow: boolean): string {
    const refuse = (why: string, code: string) =>
      this.#ctx.crossings.refuse(
        TYPES,
        `[method]descriptor.${fn}`,
        action(access, `${this.#path}/${path}`),
        why,
        code,
      );
    if (typeof path !== "string") throw refuse("the path is not a string", "invalid");
    if (path.startsWith("/") || path.includes("\\") || path.includes("\u0000"))
      throw refuse(
        `absolute path "${path}": a component names files relative to a directory it was given`,
        "not-permitted",
      );
    let depth = 0;
    for (const seg of path.split("/")) {
      if (seg === "..") depth--;
      else if (seg !== "" && seg !== ".") depth++;
      if (depth < 0)
        throw refuse(`"${path}" climbs above the directory it is opened from`, "not-permitted");
    }
    const lexical = canonicalPathOf(`${this.#path}/${path}`, false);
    if (lexical === undefined) throw refuse(`"${path}" is not a path Warden can judge`, "access");
    let real: string | { readonly refused: string };
    if (follow || lexical === this.#path)
      real = resolveRealPathSync(lexical, `${this.#path}/${path}`);
    else {
      const parent = resolveRealPathSync(dirname(lexical), `${this.#path}/${dirname(path)}`);
      real =
        typeof parent === "string"
          ? `${parent === "/" ? "" : parent}/${basename(lexical)}`
          : parent;
    }
    if (typeof real !== "string") throw refuse(real.refused, "access");
    return real;
  }

  /**
   * Run `op` on the judged canonical paths `reals` through their parent directories, each
   * opened (no link followed at its last step) and verified to be the judged parent
   * (`/proc/self/fd/<fd>`): `op` gets `/proc/self/fd/<fd>/<name>` for each, so the entry's own
   * name is the only step not verified, and it is not followed (unlink, rmdir, mkdir, rename,
   * symlink act on the entry itself). A parent swapped since the check: `access`, audited.
   * Undefined when this cannot be done here (not Linux, a trailing slash, the descriptor's own
   * directory): the shim does the call. Reading calls use `lstat` even when following links:
   * the judged path is already resolved, so only a link swapped in since is not followed.
   */
  #inVerifiedParents<T>(
    fn: string,
    access: Access,
    guest: readonly string[],
    reals: readonly string[],
    op: (at: readonly string[]) => T,
    quiet = false,
  ): { value: T } | undefined {
    if (!PROC_FD || guest.some((g) => g.endsWith("/"))) return undefined;
    if (reals.some((r) => r === this.#path || basename(r) === "" || r === "/")) return undefined;
    const fds: number[] = [];
    const swapped = (real: string) =>
      quiet
        ? new Error(`the folder of ${real} changed`)
        : this.#ctx.crossings.refuse(
            TYPES,
            `[method]descriptor.${fn}`,
            action(access, real),
            `the folder of ${real} changed between Warden's check and the call (a link or folder was swapped); refused`,
            "access",
          );
    try {
      const at: string[] = [];
      for (const real of reals) {
        const fd = openVerifiedDir(dirname(real));
        if (fd === undefined) throw swapped(real);
        fds.push(fd);
        at.push(`/proc/self/fd/${fd}/${basename(real)}`);
      }
      try {
        return { value: op(at) };
      } catch (e) {
        throw fsErrorCode(e);
      }
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  #child(inner: unknown, path: string): Descriptor {
    return new Descriptor(inner, path, this.#ctx, MAKE);
  }

  readViaStream(offset: bigint): unknown {
    return this.#run("read-via-stream", action("read", this.#path), () =>
      this.#call("readViaStream", offset),
    );
  }
  writeViaStream(offset: bigint): unknown {
    return this.#run("write-via-stream", action("write", this.#path), () =>
      this.#call("writeViaStream", offset),
    );
  }
  appendViaStream(): unknown {
    return this.#run("append-via-stream", action("write", this.#path), () =>
      this.#call("appendViaStream"),
    );
  }
  advise(offset: bigint, length: bigint, advice: unknown): void {
    this.#run("advise", action("read", this.#path), () =>
      this.#call("advise", offset, length, advice),
    );
  }
  syncData(): void {
    this.#run("sync-data", action("write", this.#path), () => this.#call("syncData"));
  }
  getFlags(): unknown {
    return this.#run("get-flags", undefined, () => this.#call("getFlags"));
  }
  getType(): unknown {
    return this.#run("get-type", undefined, () => this.#call("getType"));
  }
  setSize(size: bigint): void {
    this.#run("set-size", action("write", this.#path), () => this.#call("setSize", size));
  }
  setTimes(atime: unknown, mtime: unknown): void {
    this.#run("set-times", action("write", this.#path), () => this.#call("setTimes", atime, mtime));
  }
  read(length: bigint, offset: bigint): unknown {
    const n = BigInt(length) > BigInt(MAX_READ_BYTES) ? BigInt(MAX_READ_BYTES) : length;
    return this.#run("read", action("read", this.#path), () => this.#call("read", n, offset));
  }
  write(buffer: Uint8Array, offset: bigint): unknown {
    return this.#run("write", action("write", this.#path), () =>
      this.#call("write", buffer, offset),
    );
  }
  /**
   * Listed through the directory opened again at the judged canonical path and verified
   * (`/proc/self/fd/<fd>`, Linux), not by the shim's path; a preopen is the shim's (which
   * refuses it, bad-descriptor) as before.
   */
  readDirectory(): unknown {
    return this.#run("read-directory", action("read", this.#path), () => {
      if (!PROC_FD || PREOPENS_INNER.has(this.#inner) || this.#path === "/")
        return this.#call("readDirectory");
      const fd = openVerifiedDir(this.#path);
      if (fd === undefined)
        throw this.#ctx.crossings.refuse(
          TYPES,
          "[method]descriptor.read-directory",
          action("read", this.#path),
          `${this.#path} changed since it was opened (a link or folder was swapped); refused`,
          "access",
        );
      try {
        return new VerifiedEntries(opendirSync(`/proc/self/fd/${fd}`));
      } catch (e) {
        throw fsErrorCode(e);
      } finally {
        closeSync(fd);
      }
    });
  }
  sync(): void {
    this.#run("sync", action("write", this.#path), () => this.#call("sync"));
  }
  createDirectoryAt(path: string): void {
    const real = this.#resolve("create-directory-at", "write", path, false);
    this.#run("create-directory-at", action("write", real), () => {
      if (
        !this.#inVerifiedParents("create-directory-at", "write", [path], [real], ([at]) =>
          mkdirSync(at!),
        )
      )
        this.#call("createDirectoryAt", path);
    });
  }
  stat(): unknown {
    return this.#run("stat", action("read", this.#path), () => this.#call("stat"));
  }
  statAt(flags: PathFlags, path: string): unknown {
    const real = this.#resolve("stat-at", "read", path, flags?.symlinkFollow === true);
    return this.#run("stat-at", action("read", real), () => {
      const v = this.#inVerifiedParents("stat-at", "read", [path], [real], ([at]) =>
        statOf(lstatSync(at!, { bigint: true })),
      );
      return v === undefined ? this.#call("statAt", flags, path) : v.value;
    });
  }
  /**
   * Judged as a write of the canonical path, and made through its verified parent like the
   * other path calls (`lutimes`: the judged path is already resolved, so only a link swapped in
   * since is not followed). `no-change` keeps the entry's own time (the shim took the
   * directory's), `now` is the current time (the shim's was 1970).
   */
  setTimesAt(flags: PathFlags, path: string, atime: unknown, mtime: unknown): void {
    const real = this.#resolve("set-times-at", "write", path, flags?.symlinkFollow === true);
    this.#run("set-times-at", action("write", real), () => {
      const v = this.#inVerifiedParents("set-times-at", "write", [path], [real], ([at]) => {
        const keep =
          (atime as { tag?: unknown })?.tag === "no-change" ||
          (mtime as { tag?: unknown })?.tag === "no-change"
            ? lstatSync(at!)
            : undefined;
        lutimesSync(at!, secondsOf(atime, keep?.atimeMs), secondsOf(mtime, keep?.mtimeMs));
      });
      if (v === undefined) this.#call("setTimesAt", flags, path, atime, mtime);
    });
  }
  linkAt(oldFlags: PathFlags, oldPath: string, newDir: Descriptor, newPath: string): void {
    if (!(newDir instanceof Descriptor)) throw "bad-descriptor";
    if (newDir.#inner instanceof OwnFile) throw "not-directory";
    const from = this.#resolve("link-at", "read", oldPath, oldFlags?.symlinkFollow === true);
    const to = newDir.#resolve("link-at", "write", newPath, false);
    // A hard link makes the file reachable (and writable) at the new name: both ends judged.
    this.#run("link-at", action("write", from), () => undefined);
    this.#run("link-at", action("write", to), () => {
      if (
        !this.#inVerifiedParents("link-at", "write", [oldPath, newPath], [from, to], ([a, b]) =>
          linkSync(a!, b!),
        )
      )
        this.#call("linkAt", oldFlags, oldPath, newDir.#inner, newPath);
    });
  }
  openAt(flags: PathFlags, path: string, open: OpenFlags, dflags: DescriptorFlags): Descriptor {
    const follow = flags?.symlinkFollow === true;
    const writes =
      dflags?.write === true ||
      dflags?.mutateDirectory === true ||
      open?.create === true ||
      open?.truncate === true;
    const real = this.#resolve("open-at", writes ? "write" : "read", path, follow);
    // Opening for write is judged as write, and as read too when it reads.
    if (writes && dflags?.read === true)
      this.#run("open-at", action("read", real), () => undefined);
    return this.#run("open-at", action(writes ? "write" : "read", real), () => {
      // A regular file opened to be read: by Warden, in this thread, verified (./own-file.ts).
      if (!writes && PROC_FD && ownFileOpen(path, open, dflags) && real !== this.#path) {
        const own = openOwnFile(real, dflags);
        if (own === "swapped") throw this.#swappedOpen("read", real, path, follow);
        if (own !== undefined) return this.#child(own, real);
      }
      // An open that changes the file as it opens it (creates it, empties it) makes that change
      // here first, in the judged path's verified folder, never following a link there: the
      // shim's own open would make it before anything could look at what it opened, so a link
      // swapped in between would create a file in, or empty one of, a folder the policy denies.
      // The shim then opens the file that now exists, and what it opened is verified as any open.
      let shimOpen = open;
      if (open?.directory !== true && (open?.create === true || open?.truncate === true)) {
        const made = this.#inVerifiedParents("open-at", "write", [path], [real], ([at]) =>
          closeSync(openSync(at!, changeFlags(open), 0o666)),
        );
        if (made !== undefined)
          shimOpen = { ...open, create: false, exclusive: false, truncate: false };
      }
      const inner = this.#call("openAt", flags, path, shimOpen, dflags) as Inner;
      this.#verifyOpened(inner, real, writes ? "write" : "read", path, follow);
      return this.#child(inner, real);
    });
  }

  /**
   * What was opened must be what was judged: the path is resolved and judged, then the shim
   * walks and opens it again, and a link or folder swapped in between (by another instance of
   * the component on another worker thread, or by any host process) would hand the guest a file
   * the policy denies. The shim keeps its file descriptors in its I/O worker and never exposes
   * their numbers (so `/proc/self/fd/<fd>` cannot be read here); it does expose `fstat` of its
   * own descriptor (metadata-hash: inode and mtime). The inode of the opened file must be the
   * inode now at the judged canonical path (lstat: a link put there is not followed); otherwise
   * the descriptor is closed and the open refused (`access`), audited with the rule the path
   * now falls under when it is denied.
   */
  #verifyOpened(inner: Inner, real: string, access: Access, path: string, follow: boolean): void {
    let opened: bigint | undefined;
    let there: bigint | undefined;
    try {
      opened = BigInt((inner.metadataHash!.call(inner) as { lower: bigint | number }).lower);
      // What is at the judged path now, reached through its verified parent: an intermediate
      // folder swapped for a link would otherwise lead lstat to the same swapped-in file.
      const v = this.#inVerifiedParents(
        "open-at",
        access,
        [path],
        [real],
        ([at]) => lstatSync(at!, { bigint: true }),
        true, // refused (and audited) once, below
      );
      there = (v === undefined ? lstatSync(real, { bigint: true }) : v.value).ino;
    } catch {
      // either gone, or the parent was swapped: not verified, refused below
    }
    if (opened !== undefined && opened === there) return;
    (inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(inner);
    throw this.#swappedOpen(access, real, path, follow);
  }

  /**
   * The refusal of an open whose file is not the one judged (audited with the rule the path
   * now falls under when it is denied).
   */
  #swappedOpen(access: Access, real: string, path: string, follow: boolean): unknown {
    const c = this.#ctx.crossings;
    // Where the guest's path leads now: judged, so the audit names the rule the swap escaped.
    const lexical = canonicalPathOf(`${this.#path}/${path}`, false);
    let j: ReturnType<Crossings["judge"]> | undefined;
    if (lexical !== undefined) {
      const now = follow ? resolveRealPathSync(lexical) : resolveRealPathSync(dirname(lexical));
      const target =
        typeof now !== "string"
          ? undefined
          : follow
            ? now
            : `${now === "/" ? "" : now}/${basename(lexical)}`;
      if (target !== undefined && target !== real) {
        const judged = c.judge(action(access, target));
        if (!judged.decision.allowed) j = judged;
      }
    }
    return c.refuse(
      TYPES,
      "[method]descriptor.open-at",
      action(access, real),
      `"${path}" changed while it was opened: Warden judged ${real}, and the file opened is not the one there now (a link or folder was swapped between the check and the open); refused${j ? `: ${j.decision.reason}` : ""}`,
      "access",
      j,
    );
  }
  /**
   * Renaming a folder moves everything beneath it: each entry is judged as written at its old
   * and its new path, so a deny rule on `a/private/**` is not escaped by renaming `a` (links are
   * not followed: a link moves, its target does not). Bounded: past MAX_MOVED entries, refused.
   */
  #movesBeneath(from: string, to: string): void {
    const fn = "[method]descriptor.rename-at";
    const c = this.#ctx.crossings;
    const refuse = (target: string, why: string, j?: ReturnType<Crossings["judge"]>) =>
      c.refuse(TYPES, fn, action("write", target), why, "access", j);
    try {
      if (!lstatSync(from).isDirectory()) return;
    } catch {
      return; // the shim says what is missing
    }
    let n = 0;
    const walk = (dir: string, rel: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        throw refuse(
          dir,
          `${dir} cannot be listed to judge what moving ${from} moves (${(e as Error).message})`,
        );
      }
      for (const e of entries) {
        if (++n > MAX_MOVED)
          throw refuse(
            from,
            `moving ${from} moves more than ${MAX_MOVED} entries, too many to judge`,
          );
        const old = `${dir}/${e.name}`;
        for (const target of [old, `${to}${rel}/${e.name}`]) {
          const j = c.judge(action("write", target));
          if (!j.decision.allowed)
            throw refuse(target, `moving ${from} moves ${old}: ${j.decision.reason}`, j);
        }
        if (e.isDirectory()) walk(old, `${rel}/${e.name}`);
      }
    };
    walk(from, "");
  }

  readlinkAt(path: string): unknown {
    const real = this.#resolve("readlink-at", "read", path, false);
    return this.#run("readlink-at", action("read", real), () => {
      const v = this.#inVerifiedParents("readlink-at", "read", [path], [real], ([at]) =>
        readlinkSync(at!),
      );
      return v === undefined ? this.#call("readlinkAt", path) : v.value;
    });
  }
  removeDirectoryAt(path: string): void {
    const real = this.#resolve("remove-directory-at", "write", path, false);
    this.#run("remove-directory-at", action("write", real), () => {
      if (
        !this.#inVerifiedParents("remove-directory-at", "write", [path], [real], ([at]) =>
          rmdirSync(at!),
        )
      )
        this.#call("removeDirectoryAt", path);
    });
  }
  renameAt(oldPath: string, newDir: Descriptor, newPath: string): void {
    if (!(newDir instanceof Descriptor)) throw "bad-descriptor";
    if (newDir.#inner instanceof OwnFile) throw "not-directory";
    const from = this.#resolve("rename-at", "write", oldPath, false);
    const to = newDir.#resolve("rename-at", "write", newPath, false);
    this.#run("rename-at", action("write", from), () => undefined);
    this.#movesBeneath(from, to);
    this.#run("rename-at", action("write", to), () => {
      if (
        !this.#inVerifiedParents("rename-at", "write", [oldPath, newPath], [from, to], ([a, b]) =>
          renameSync(a!, b!),
        )
      )
        this.#call("renameAt", oldPath, newDir.#inner, newPath);
    });
  }
  symlinkAt(target: string, path: string): void {
    const real = this.#resolve("symlink-at", "write", path, false);
    if (typeof target !== "string" || target.startsWith("/"))
      throw this.#ctx.crossings.refuse(
        TYPES,
        "[method]descriptor.symlink-at",
        action("write", real),
        `symbolic link to the absolute path "${String(target)}": a link may only point within the directories the component was given`,
        "not-permitted",
      );
    // Where the link points, read from its own directory: it must be readable by the policy.
    const pointsTo = canonicalPathOf(`${dirname(real)}/${target}`, false);
    const judged = pointsTo === undefined ? undefined : resolveRealPathSync(pointsTo);
    if (typeof judged !== "string")
      throw this.#ctx.crossings.refuse(
        TYPES,
        "[method]descriptor.symlink-at",
        action("write", real),
        `symbolic link target "${target}" cannot be judged`,
        "not-permitted",
      );
    this.#run("symlink-at", action("read", judged), () => undefined);
    this.#run("symlink-at", action("write", real), () => {
      if (
        !this.#inVerifiedParents("symlink-at", "write", [path], [real], ([at]) =>
          symlinkSync(target, at!),
        )
      )
        this.#call("symlinkAt", target, path);
    });
  }
  unlinkFileAt(path: string): void {
    const real = this.#resolve("unlink-file-at", "write", path, false);
    this.#run("unlink-file-at", action("write", real), () => {
      if (
        !this.#inVerifiedParents("unlink-file-at", "write", [path], [real], ([at]) =>
          unlinkSync(at!),
        )
      )
        this.#call("unlinkFileAt", path);
    });
  }
  isSameObject(other: Descriptor): boolean {
    return this.#run("is-same-object", undefined, () =>
      other instanceof Descriptor ? other.#path === this.#path : false,
    );
  }
  metadataHash(): unknown {
    return this.#run("metadata-hash", action("read", this.#path), () => this.#call("metadataHash"));
  }
  metadataHashAt(flags: PathFlags, path: string): unknown {
    const real = this.#resolve("metadata-hash-at", "read", path, flags?.symlinkFollow === true);
    return this.#run("metadata-hash-at", action("read", real), () => {
      const v = this.#inVerifiedParents("metadata-hash-at", "read", [path], [real], ([at]) => {
        const st = lstatSync(at!, { bigint: true });
        return { upper: st.mtimeNs, lower: st.ino };
      });
      return v === undefined ? this.#call("metadataHashAt", flags, path) : v.value;
    });
  }
  [symbolDispose](): void {
    (this.#inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(
      this.#inner,
    );
  }
}

/**
 * Whether an open is one Warden makes itself (./own-file.ts): a file to be read and nothing
 * more (no folder, no creation, no sync flags); anything else is the shim's.
 */
function ownFileOpen(path: string, open: OpenFlags, dflags: DescriptorFlags): boolean {
  if (typeof path !== "string" || path === "" || path.endsWith("/")) return false;
  if (open?.create || open?.directory || open?.exclusive || open?.truncate) return false;
  const d = dflags as Record<string, unknown> | undefined;
  if (d?.read !== true) return false;
  for (const k of Object.keys(d)) if (k !== "read" && d[k] === true) return false;
  return true;
}

const MAKE = Symbol("make descriptor");
/** The shim's preopen descriptors (read-directory on one is the shim's: bad-descriptor). */
const PREOPENS_INNER = new WeakSet<object>();

/** A preopen: the directory a component sees at `guestPath`, and its real host path. */
export interface Preopen {
  readonly guestPath: string;
  readonly hostPath: string;
}

/** Make the preopen descriptor of a real, canonical host directory. */
export function preopenDescriptor(hostPath: string, ctx: FsContext): Descriptor {
  const inner = _createPreopenDescriptor(hostPath) as unknown as object;
  PREOPENS_INNER.add(inner);
  return new Descriptor(inner, hostPath, ctx, MAKE);
}

/** The `wasi:filesystem/types` and `wasi:filesystem/preopens` imports. */
export function filesystemImports(
  ctx: FsContext,
  preopens: readonly (readonly [Descriptor, string])[],
): Record<string, Record<string, unknown>> {
  const shim = shimTypes as unknown as {
    DirectoryEntryStream: unknown;
    filesystemErrorCode: (e: unknown) => unknown;
  };
  return {
    [TYPES]: {
      Descriptor,
      // Entries of a directory already judged readable (read-directory): names and types only.
      DirectoryEntryStream: shim.DirectoryEntryStream,
      filesystemErrorCode: (e: unknown) => shim.filesystemErrorCode(e),
    },
    [PREOPENS]: {
      getDirectories: () =>
        ctx.crossings.run(PREOPENS, "get-directories", undefined, "access", () => [...preopens]),
    },
  };
}
