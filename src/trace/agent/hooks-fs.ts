/**
 * File system hooks: every path-taking function of `fs`, in its synchronous, callback and
 * promise forms (`fs.promises` is `fs/promises`), is wrapped on the module object itself, so
 * CommonJS, ESM (after `syncBuiltinESMExports`) and Node's own callers (module loading, streams)
 * go through it. Calls on file descriptors were judged at `open`.
 */
import type * as FS from "node:fs";
import { fsError } from "./errors.js";
import type { Tracer } from "./tracer.js";

/** Per path argument: `r` read, `w` write, `o` by the open flags (the next argument), `-` not judged. */
type Access = "r" | "w" | "o" | "-";

/** Functions that change what a name leads to: paths judged before are judged again. */
const RENAMING = new Set(["rename", "symlink", "unlink", "rm", "rmdir", "link", "cp"]);

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
];

/** A path argument as a string; undefined for file descriptors and what is not a path. */
function pathOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof URL) return v.protocol === "file:" ? decodeURIComponent(v.pathname) : undefined;
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  return undefined;
}

const O_WRITE = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000; // WRONLY RDWR CREAT TRUNC APPEND

function opensForWrite(flags: unknown): boolean {
  if (flags === undefined || flags === null) return false;
  if (typeof flags === "number") return (flags & O_WRITE) !== 0;
  if (typeof flags === "string") return /[wa+]/.test(flags);
  return true;
}

/** Judge a call's path arguments; the first blocked one as an error, else undefined. */
function gate(
  t: Tracer,
  name: string,
  fn: string,
  access: readonly Access[],
  args: unknown[],
): Error | undefined {
  for (let i = 0; i < access.length; i++) {
    const a = access[i]!;
    if (a === "-") continue;
    const p = pathOf(args[i]);
    if (p === undefined) continue;
    const write = a === "w" || (a === "o" && opensForWrite(args[i + 1]));
    const j = t.file(fn, write, p);
    if (j.verdict === "block") return fsError(name, p, j);
  }
  if (RENAMING.has(name)) t.judge.forget();
  return undefined;
}

type AnyFn = (...a: unknown[]) => unknown;

export function hookFs(fs: typeof FS, t: Tracer): string[] {
  const installed: string[] = [];
  const target = fs as unknown as Record<string, AnyFn>;
  const promises = fs.promises as unknown as Record<string, AnyFn>;
  for (const [name, access] of FS_SPECS) {
    const sync = target[`${name}Sync`];
    if (typeof sync === "function") {
      const fn = `fs.${name}Sync`;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        if (!t.judge.busy) {
          const err = gate(t, name, fn, access, args);
          if (err !== undefined) {
            if (name === "exists") return false;
            throw err;
          }
        }
        return Reflect.apply(sync, this, args);
      };
      copyProps(sync, wrapped);
      target[`${name}Sync`] = wrapped;
      installed.push(fn);
    }
    const cb = target[name];
    if (typeof cb === "function") {
      const fn = `fs.${name}`;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        if (!t.judge.busy) {
          const err = gate(t, name, fn, access, args);
          if (err !== undefined) {
            const last = args[args.length - 1];
            if (typeof last !== "function") throw err;
            if (name === "exists") process.nextTick(last as AnyFn, false);
            else process.nextTick(last as AnyFn, err);
            return undefined;
          }
        }
        return Reflect.apply(cb, this, args);
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
          if (err !== undefined) return Promise.reject(err);
        }
        return Reflect.apply(pr, this, args);
      };
      installed.push(fn);
    }
  }
  return installed;
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
