/**
 * File system hooks: every path-taking function of `fs`, in its synchronous, callback and
 * promise forms (`fs.promises` is `fs/promises`), is wrapped on the module object itself, so
 * CommonJS, ESM (after `syncBuiltinESMExports`) and Node's own callers (module loading, streams)
 * go through it. Calls on file descriptors were judged at `open`.
 */
import { Buffer as NodeBuffer } from "node:buffer";
import type * as FS from "node:fs";
import pathModule from "node:path";
import { fileURLToPath } from "node:url";
import { isUint8Array } from "node:util/types";
import { fsError } from "./errors.js";
import type { Tracer } from "./tracer.js";

/** Per path argument: `r` read, `w` write, `o` by the open flags (the next argument), `-` not judged. */
type Access = "r" | "w" | "o" | "-";

/** Functions that change what a name leads to: paths judged before are judged again. */
const RENAMING = new Set(["rename", "symlink", "unlink", "rm", "rmdir", "link", "cp"]);
/** Of those, the ones that only remove or replace their `w` names: forgotten unless they are files. */
const REPLACING = new Set(["rename", "unlink", "rm"]);

export const FS_SPECS: ReadonlyArray<readonly [string, readonly Access[]]> = [
  ["open", ["o"]],
  ["opendir", ["r"]],
  ["readFile", ["r"]],
  ["readdir", ["r"]],
  ["readlink", ["r"]],
  ["stat", ["r"]],
  ["lstat", ["r"]],
  ["statfs", ["r"]],
  ["access", ["r"]],
  ["exists", ["r"]],
  ["writeFile", ["w"]],
  ["appendFile", ["w"]],
  ["truncate", ["w"]],
  ["rm", ["w"]],
  ["rmdir", ["w"]],
  ["unlink", ["w"]],
  ["rename", ["w", "w"]],
  ["symlink", ["-", "w"]],
  ["link", ["r", "w"]],
  ["chmod", ["w"]],
  ["lchmod", ["w"]],
  ["chown", ["w"]],
  ["lchown", ["w"]],
  ["utimes", ["w"]],
  ["lutimes", ["w"]],
  ["copyFile", ["r", "w"]],
  ["cp", ["r", "w"]],
  ["mkdir", ["w"]],
  ["mkdtemp", ["w"]],
  // A Blob of the file's bytes (Node 19.8+): it reads the file as readFile does.
  ["openAsBlob", ["r"]],
  // What a path leads to, and whether it is there: a read, as stat is (each told a denied
  // file's existence, its link target, or its stat through watchFile's listener).
  ["realpath", ["r"]],
  ["watch", ["r"]],
  ["watchFile", ["r"]],
];

/** Calls whose last function is a listener, not a callback: a block throws, as Node's do. */
const LISTENING = new Set(["watch", "watchFile"]);

// Taken before the program runs: what the hooks use to read its arguments is not the program's.
const { getOwnPropertyDescriptor } = Object;
const { apply } = Reflect;
const { isView } = ArrayBuffer;
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const decode = TextDecoder.prototype.decode;
/**
 * Node's fs checks an encoding with the public `Buffer.isEncoding` (and turns a string in
 * another encoding than UTF-8 into bytes with `Buffer.from`) between a hook and its inner
 * `openSync`: the shortcuts below skip that inner judgement only while both are Node's own,
 * taken here before the program runs. A program that replaced either runs its code in between,
 * and the inner call is judged again.
 */
const ownIsEncoding = NodeBuffer.isEncoding;
const ownBufferFrom = NodeBuffer.from;

function ownBuffer(from: boolean): boolean {
  const d = getOwnPropertyDescriptor(NodeBuffer, "isEncoding");
  if (d === undefined || d.value !== ownIsEncoding) return false;
  if (!from) return true;
  const f = getOwnPropertyDescriptor(NodeBuffer, "from");
  return f !== undefined && f.value === ownBufferFrom;
}

/**
 * A path argument as the string Node would use, or undefined for file descriptors and what is
 * not a path. A `Uint8Array` (a `Buffer` or not) is its UTF-8 text; a file URL, whether a `URL`
 * or any object Node takes for one (its own test: `href` and `protocol` set, no `auth` or
 * `path`), is its path as Node's `fileURLToPath` gives it.
 */
function pathOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v !== "object" || v === null) return undefined;
  if (isUint8Array(v)) return apply(decode, utf8, [v]) as string;
  const u = v as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown };
  if (u.href && u.protocol && u.auth === undefined && u.path === undefined)
    return fileURLToPath(v as URL);
  return undefined;
}

/**
 * Options read once, before the judgement: a copy with no prototype (a getter on the program's
 * object, or on `Object.prototype`, would otherwise run the program's code between the
 * judgement and the call, where it could swap a link). Class instances (`AbortSignal`) and
 * functions are passed as they are.
 */
function plainOptions(o: object): object {
  const copy = { __proto__: null, ...o } as Record<string, unknown>;
  // What Node reads from an options object, own or inherited (a class's getters).
  for (let i = 0; i < OPTION_KEYS.length; i++) {
    const k = OPTION_KEYS[i]!;
    if (!(k in copy)) {
      const v = (o as Record<string, unknown>)[k];
      if (v !== undefined) copy[k] = v;
    }
  }
  return copy;
}

const OPTION_KEYS = [
  "encoding",
  "flag",
  "mode",
  "flush",
  "signal",
  "bigint",
  "throwIfNoEntry",
  "recursive",
  "withFileTypes",
  "force",
  "maxRetries",
  "retryDelay",
  "bufferSize",
  "dereference",
  "errorOnExist",
  "filter",
  "preserveTimestamps",
  "verbatimSymlinks",
];

/** The argument that is data, not options (`writeFile(path, data, options)`): left as it is. */
const DATA_AT = { __proto__: null, writeFile: 1, appendFile: 1 } as unknown as Readonly<
  Record<string, number>
>;

const O_WRITE = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000; // WRONLY RDWR CREAT TRUNC APPEND

function opensForWrite(flags: unknown): boolean {
  if (flags === undefined || flags === null) return false;
  if (typeof flags === "number") return (flags & O_WRITE) !== 0;
  if (typeof flags === "string") return /[wa+]/.test(flags);
  return true;
}

/**
 * Judge a call's path arguments; the first blocked one as an error, else undefined. The path
 * arguments judged are replaced in `args` by the strings judged, and option objects after them
 * by plain copies (`plainOptions`), so what the call then uses is what was judged.
 */
function gate(
  t: Tracer,
  name: string,
  fn: string,
  access: readonly Access[],
  args: unknown[],
): Error | undefined {
  const data = DATA_AT[name];
  for (let i = access.length; i < args.length; i++) {
    const o = args[i];
    if (typeof o === "object" && o !== null && i !== data && !isView(o)) args[i] = plainOptions(o);
  }
  for (let i = 0; i < access.length; i++) {
    const a = access[i]!;
    if (a === "-") continue;
    const p = pathOf(args[i]);
    if (p === undefined) continue;
    args[i] = p;
    const write = a === "w" || (a === "o" && opensForWrite(args[i + 1]));
    const j = t.file(fn, write, p);
    if (j.verdict === "block") return fsError(name, p, j);
  }
  if (RENAMING.has(name)) {
    if (!REPLACING.has(name)) t.judge.forget();
    else {
      const changed: string[] = [];
      for (let i = 0; i < access.length; i++)
        if (access[i] === "w") changed.push(args[i] as string);
      t.judge.changing(changed);
    }
  }
  return undefined;
}

type AnyFn = (...a: unknown[]) => unknown;

export function hookFs(fs: typeof FS, t: Tracer): string[] {
  const installed: string[] = [];
  const target = fs as unknown as Record<string, AnyFn>;
  const promises = fs.promises as unknown as Record<string, AnyFn>;
  /** The one inner `openSync` of a `readFileSync` judged already (`readFileHook`). */
  const inner: Inner = { path: undefined, flag: undefined };
  const originals = new Map<string, AnyFn>();
  /** Node's own callback forms, for the shortcuts below. */
  const callbacks = new Map<string, AnyFn>();
  // Node's fs passes every path through the public path module's `toNamespacedPath` after the
  // hook has judged it: a program that put its own there would choose what is opened. Kept
  // Node's own (an assignment is ignored, or throws in strict code).
  const ns = getOwnPropertyDescriptor(pathModule, "toNamespacedPath");
  if (ns?.configurable === true && typeof ns.value === "function")
    Object.defineProperty(pathModule, "toNamespacedPath", {
      value: ns.value,
      writable: false,
      enumerable: ns.enumerable === true,
      configurable: false,
    });
  for (const [name, access] of FS_SPECS) {
    const sync = target[`${name}Sync`];
    if (typeof sync === "function") {
      const fn = `fs.${name}Sync`;
      const open = name === "open";
      const wrapped = function (this: unknown, ...args: unknown[]) {
        if (open && inner.path !== undefined) {
          const p = inner.path;
          const f = inner.flag;
          inner.path = undefined;
          inner.flag = undefined;
          if (args[0] === p && args[1] === f) return apply(sync, this, args);
        }
        if (!t.judge.busy) {
          const err = gate(t, name, fn, access, args);
          if (err !== undefined) {
            if (name === "exists") return false;
            throw err;
          }
        }
        return apply(sync, this, args);
      };
      copyProps(sync, wrapped);
      target[`${name}Sync`] = wrapped;
      originals.set(name, sync);
      installed.push(fn);
    }
    const cb = target[name];
    if (typeof cb === "function") {
      callbacks.set(name, cb);
      const fn = `fs.${name}`;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        if (!t.judge.busy) {
          const err = gate(t, name, fn, access, args);
          if (err !== undefined) {
            const last = args[args.length - 1];
            if (typeof last !== "function" || LISTENING.has(name)) throw err;
            if (name === "exists") process.nextTick(last as AnyFn, false);
            else process.nextTick(last as AnyFn, err);
            return undefined;
          }
        }
        return apply(cb, this, args);
      };
      copyProps(cb, wrapped);
      target[name] = wrapped;
      installed.push(fn);
    }
    const pr = promises[name];
    if (typeof pr === "function") {
      const fn = `fs.promises.${name}`;
      promises[name] = function (this: unknown, ...args: unknown[]) {
        if (!t.judge.busy) {
          const err = gate(t, name, fn, access, args);
          if (err !== undefined) {
            // fs.promises.watch gives an async iterator, not a promise: it throws, as Node's.
            if (LISTENING.has(name)) throw err;
            return Promise.reject(err);
          }
        }
        return apply(pr, this, args);
      };
      installed.push(fn);
    }
  }
  // realpath.native (libuv's realpath, sync and callback): the same read as realpath. copyProps
  // carried Node's own over to the wrappers above; each is wrapped in its place.
  for (const name of ["realpathSync", "realpath"] as const) {
    const outer = target[name] as (AnyFn & { native?: AnyFn }) | undefined;
    const native = outer?.native;
    if (outer === undefined || typeof native !== "function") continue;
    const fn = `fs.${name}.native`;
    const sync = name === "realpathSync";
    const wrapped = function (this: unknown, ...args: unknown[]) {
      if (!t.judge.busy) {
        const err = gate(t, "realpath", fn, ["r"], args);
        if (err !== undefined) {
          const last = args[args.length - 1];
          if (sync || typeof last !== "function") throw err;
          process.nextTick(last as AnyFn, err);
          return undefined;
        }
      }
      return apply(native, this, args);
    };
    copyProps(native, wrapped);
    outer.native = wrapped;
    installed.push(fn);
  }
  // The calls made most often, with shortcuts that keep their judgement (below).
  for (const name of ["stat", "lstat"] as const) {
    const sync = originals.get(name);
    if (sync !== undefined) target[`${name}Sync`] = statHook(t, name, sync, target[`${name}Sync`]!);
    const cb = callbacks.get(name);
    if (cb !== undefined) target[name] = statCallbackHook(t, name, cb, target[name]!);
  }
  const readFile = originals.get("readFile");
  if (readFile !== undefined)
    target.readFileSync = readFileHook(
      t,
      fs,
      readFile,
      target.readFileSync!,
      target.openSync,
      inner,
    );
  const writeFile = originals.get("writeFile");
  if (writeFile !== undefined) {
    const ownWrite = writeFileHook(t, fs, "writeFile", writeFile, target.writeFileSync!, inner);
    target.writeFileSync = ownWrite;
    const appendFile = originals.get("appendFile");
    if (appendFile !== undefined)
      target.appendFileSync = writeFileHook(
        t,
        fs,
        "appendFile",
        writeFile,
        target.appendFileSync!,
        inner,
        ownWrite,
      );
  }
  return installed;
}

interface Inner {
  path: string | undefined;
  flag: unknown;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * `statSync` and `lstatSync` of a path judged before: the program's own call is made first and
 * what it found (links followed) is the identity check (`Judge.knownRead`), instead of a second
 * `stat`. Only a result for the very file the path led to when it was judged is returned that
 * way; anything else (not remembered, another file, a name not there, an error, a symbolic link
 * under `lstat`, `bigint`) is thrown away unseen, and the call is judged in full and made again,
 * as any other: a denied path gives Warden's error whether it exists or not.
 */
function statHook(t: Tracer, name: "stat" | "lstat", sync: AnyFn, generic: AnyFn): AnyFn {
  const fn = `fs.${name}Sync`;
  const link = name === "lstat";
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const path = args[0];
    const options = args[1];
    if (typeof path !== "string" || args.length > 2 || t.judge.busy || !t.judge.judges("storage"))
      return apply(generic, this, args);
    let opts: Record<string, unknown> | undefined;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) return apply(generic, this, args);
      // Read once: a getter cannot run the program's code between the check and the answer.
      opts = plainOptions(options) as Record<string, unknown>;
      if (opts.bigint) return apply(generic, this, [path, opts]);
    }
    // Only for a file remembered there: a path first seen, or remembered as not there, is
    // judged first, as before (no wasted call).
    const known = t.judge.rememberedRead(path);
    if (known === undefined || known.absent) return apply(generic, this, [path, opts]);
    let st: FS.Stats | undefined;
    try {
      st = apply(sync, this, [path, opts]) as FS.Stats | undefined;
    } catch {
      st = undefined;
    }
    if (
      st !== undefined &&
      !(link && (st.mode & S_IFMT) === S_IFLNK) &&
      st.ino === known.ino &&
      st.dev === known.dev &&
      (st.birthtimeMs || st.ctimeMs) === known.time
    ) {
      const r = t.record(fn, "fs", path, known.judged);
      if (r.verdict === "block") throw fsError(name, path, r);
      return st;
    }
    return apply(generic, this, [path, opts]);
  };
  copyProps(sync, wrapped);
  return wrapped;
}

/**
 * `fs.stat` and `fs.lstat` (callback forms: tar's extraction in npm makes tens of thousands) of a
 * path judged before, as `statHook`: the program's own call is made first and what it found is
 * the identity check, instead of the judge's own `stat` before it. The answer reaches the
 * program only when it is for the very file the path led to when it was judged, and the path is
 * still remembered with that judgement when it comes (not forgotten meanwhile: a name changed by
 * this thread, a child ended); the event is recorded then, and a remembered block gives Warden's
 * error. Anything else is thrown away unseen and the call is judged in full and made again.
 */
function statCallbackHook(t: Tracer, name: "stat" | "lstat", own: AnyFn, generic: AnyFn): AnyFn {
  const fn = `fs.${name}`;
  const link = name === "lstat";
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const path = args[0];
    const done = args[args.length - 1];
    if (
      typeof path !== "string" ||
      typeof done !== "function" ||
      (args.length !== 2 && args.length !== 3) ||
      t.judge.busy ||
      !t.judge.judges("storage")
    )
      return apply(generic, this, args);
    let opts: Record<string, unknown> | undefined;
    if (args.length === 3 && args[1] !== undefined) {
      const options = args[1];
      if (typeof options !== "object" || options === null) return apply(generic, this, args);
      // Read once: a getter cannot run the program's code between the check and the answer.
      opts = plainOptions(options) as Record<string, unknown>;
      if (opts.bigint) return apply(generic, this, [path, opts, done]);
    }
    const full = opts === undefined ? [path, done] : [path, opts, done];
    const known = t.judge.rememberedRead(path);
    if (known === undefined || known.absent) return apply(generic, this, full);
    const after = (err: unknown, st: FS.Stats | undefined) => {
      if (
        err == null &&
        st !== undefined &&
        !(link && (st.mode & S_IFMT) === S_IFLNK) &&
        st.ino === known.ino &&
        st.dev === known.dev &&
        (st.birthtimeMs || st.ctimeMs) === known.time &&
        t.judge.rememberedRead(path) === known
      ) {
        const r = t.record(fn, "fs", path, known.judged);
        if (r.verdict === "block") (done as AnyFn)(fsError(name, path, r));
        else (done as AnyFn)(null, st);
        return;
      }
      apply(generic, this, full);
    };
    return apply(own, this, opts === undefined ? [path, after] : [path, opts, after]);
  };
  copyProps(own, wrapped);
  return wrapped;
}

/**
 * `readFileSync`: judged once, by its path and its open flags, instead of twice (Node's
 * `readFileSync` opens through `fs.openSync`, the hooked export). The path and the options are
 * made plain values first (`pathOf`, `plainOptions`), so none of the program's code runs between
 * this judgement and Node's own `openSync`; that one call, with exactly this path and flag, is
 * let through unjudged, and only while `fs.openSync` is still this agent's own (a replacement
 * would be the program's code in between). Encodings other than UTF-8 are checked by Node with
 * the public `Buffer.isEncoding` before it opens: those go the long way.
 */
function readFileHook(
  t: Tracer,
  fs: typeof FS,
  sync: AnyFn,
  generic: AnyFn,
  ownOpen: AnyFn | undefined,
  inner: Inner,
): AnyFn {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const path = args[0];
    const options = args[1];
    if (args.length > 2 || t.judge.busy) return apply(generic, this, args);
    const p = pathOf(path);
    if (p === undefined) return apply(generic, this, args);
    let opts: Record<string, unknown>;
    if (options === undefined || options === null || typeof options === "function")
      opts = { __proto__: null, flag: "r" } as Record<string, unknown>;
    else if (typeof options === "string")
      opts = { __proto__: null, flag: "r", encoding: options } as Record<string, unknown>;
    else if (typeof options === "object") opts = plainOptions(options) as Record<string, unknown>;
    else return apply(generic, this, args);
    const flag = opts.flag;
    const enc = opts.encoding;
    if (
      opts.signal !== undefined ||
      (enc && enc !== "buffer" && !ownBuffer(false)) ||
      (flag !== undefined && typeof flag !== "string" && typeof flag !== "number")
    )
      return apply(generic, this, [p, opts]);
    const j = t.file("fs.readFileSync", opensForWrite(flag), p);
    if (j.verdict === "block") throw fsError("readFile", p, j);
    const d = getOwnPropertyDescriptor(fs, "openSync");
    if (d !== undefined && d.value === ownOpen) {
      inner.path = p;
      inner.flag = flag;
    }
    try {
      return apply(sync, this, [p, opts]);
    } finally {
      inner.path = undefined;
      inner.flag = undefined;
    }
  };
  copyProps(sync, wrapped);
  return wrapped;
}

/**
 * `writeFileSync` and `appendFileSync`: judged once (a write of the path), instead of two or
 * three times (Node's `appendFileSync` calls the exported `fs.writeFileSync`, which opens through
 * the exported `fs.openSync` unless the data is a UTF-8 string). As for `readFileSync`, only
 * while none of the program's code can run between this judgement and the open: the path and
 * options made plain values first, `fs.openSync` (and for `appendFileSync` `fs.writeFileSync`)
 * still this agent's own, `Buffer.isEncoding` (and `Buffer.from`, for a string in another
 * encoding) still Node's. `appendFileSync` does what Node's does (options defaulting to the
 * flag `a`, then `writeFileSync`) with Node's own `writeFileSync`, the one the agent's calls
 * after judging. Anything else goes the long way, each inner call judged again.
 */
function writeFileHook(
  t: Tracer,
  fs: typeof FS,
  name: "writeFile" | "appendFile",
  write: AnyFn,
  generic: AnyFn,
  inner: Inner,
  ownWrite?: AnyFn,
): AnyFn {
  const fn = `fs.${name}Sync`;
  const append = name === "appendFile";
  const ownOpen = getOwnPropertyDescriptor(fs, "openSync")?.value as unknown;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const [path, data, options] = args;
    if (args.length < 2 || args.length > 3 || t.judge.busy) return apply(generic, this, args);
    const p = pathOf(path);
    if (p === undefined) return apply(generic, this, args);
    const text = typeof data === "string";
    if (!text && !isView(data)) return apply(generic, this, args);
    let opts: Record<string, unknown> | string | undefined;
    if (options === undefined || options === null) opts = undefined;
    else if (typeof options === "string") opts = options;
    else if (typeof options === "object" && !isView(options))
      opts = plainOptions(options) as Record<string, unknown>;
    else return apply(generic, this, args);
    if (append) {
      // Node's appendFileSync: getOptions with the flag `a` by default, then writeFileSync.
      const o = { __proto__: null, encoding: "utf8", mode: 0o666, flag: "a" } as Record<
        string,
        unknown
      >;
      if (typeof opts === "string") o.encoding = opts;
      else if (opts !== undefined) {
        for (const k of Object.keys(o)) delete o[k];
        Object.assign(o, opts);
        if (!o.flag) o.flag = "a";
      }
      opts = o;
    }
    const enc = typeof opts === "string" ? opts : opts === undefined ? "utf8" : opts.encoding;
    const flag = typeof opts === "object" ? opts.flag || "w" : "w";
    const utf8 = text && (enc === "utf8" || enc === "utf-8");
    if (
      (typeof opts === "object" && opts.signal !== undefined) ||
      (typeof flag !== "string" && typeof flag !== "number") ||
      !ownBuffer(text && !utf8) ||
      getOwnPropertyDescriptor(fs, "openSync")?.value !== ownOpen ||
      (append && getOwnPropertyDescriptor(fs, "writeFileSync")?.value !== ownWrite)
    )
      return apply(generic, this, args);
    const j = t.file(fn, true, p);
    if (j.verdict === "block") throw fsError(name, p, j);
    inner.path = p;
    inner.flag = flag;
    try {
      return opts === undefined
        ? apply(write, this, [p, data])
        : apply(write, this, [p, data, opts]);
    } finally {
      inner.path = undefined;
      inner.flag = undefined;
    }
  };
  copyProps(generic, wrapped);
  return wrapped;
}

/** Keep what callers read off the function (`realpathSync.native`, promisify's custom). */
function copyProps(from: AnyFn, to: AnyFn): void {
  for (const k of Reflect.ownKeys(from)) {
    if (k === "length" || k === "name" || k === "prototype" || k === "arguments" || k === "caller")
      continue;
    const d = Object.getOwnPropertyDescriptor(from, k);
    if (d !== undefined) Object.defineProperty(to, k, d);
  }
}
