/**
 * `node:wasi`: a WebAssembly module given a WASI instance opens, reads and writes files under
 * its preopened directories through WASI's own native file system (uvwasi), which no `fs` hook
 * sees. `new WASI({ preopens: { "/x": "/" } })` gave a module every file on the machine. Each
 * preopen is judged where it is granted, in the constructor: a read and a write of the whole
 * tree (`judgeTree`: no deny rule may match anything under it, an allow rule covers all of it),
 * refused (EACCES, recorded as a block) when the policy does not allow all of it.
 *
 * Loading `node:wasi` in every traced process would cost about 0.5 ms and print Node's
 * experimental warning, so the class is replaced when the program loads the module: through
 * `require` (`Module._load`), `process.getBuiltinModule`, or an ESM `import` (Node emits its
 * experimental warning while the module is evaluated: the class is replaced in the next
 * microtask, before the importing module's body runs, and `syncBuiltinESMExports` updates the
 * named export).
 */
import type * as FS from "node:fs";
import type { CompiledPolicy } from "../../policy/policy.js";
import { judgeTree, type StorageCompiled } from "../../policy/types/storage.js";
import { fsError } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

const { apply, construct } = Reflect;
const { getOwnPropertyDescriptor, defineProperty } = Object;

/** What Node's WASI constructor reads from its options (each read once, here). */
const WASI_OPTIONS = [
  "version",
  "args",
  "env",
  "preopens",
  "returnOnExit",
  "stdin",
  "stdout",
  "stderr",
];

type AnyFn = (...a: unknown[]) => unknown;
type ModuleLike = { _load?: AnyFn; syncBuiltinESMExports?: () => void };

export function hookWasi(
  t: Tracer,
  policy: CompiledPolicy,
  ownRealpath: (p: string) => string,
  mod: ModuleLike,
): string[] {
  let patched = false;
  const storage = policy.sections.get("storage") as StorageCompiled | undefined;

  /** The real path of a preopen's host folder (as given, made absolute, when it is not there). */
  const real = (host: string): string => {
    const abs = host.startsWith("/") ? host : `${process.cwd()}/${host}`;
    try {
      return ownRealpath(abs);
    } catch {
      return abs;
    }
  };

  const judgePreopen = (host: string): void => {
    const dir = real(host);
    if (storage === undefined || !t.judge.judges("storage")) {
      t.record("wasi.WASI", "wasi", dir, { verdict: "display", decision: undefined });
      return;
    }
    for (const access of ["read", "write"] as const) {
      const d = judgeTree(storage, access, dir);
      const j: Judged = { verdict: d.allowed ? "allow" : "block", decision: d };
      const r = t.record("wasi.WASI", "wasi", dir, j);
      if (r.verdict === "block") throw fsError("wasi preopen", dir, r);
    }
  };

  const patch = (m: unknown): void => {
    if (patched || m === null || typeof m !== "object") return;
    const Orig = (m as { WASI?: unknown }).WASI;
    if (typeof Orig !== "function") return;
    patched = true;
    const Wrapped = function WASI(this: unknown, ...args: unknown[]) {
      if (new.target === undefined) return apply(Orig as AnyFn, this, args); // Node's own error
      const options = args[0];
      let o: unknown = options;
      if (options !== null && typeof options === "object") {
        // Read once: a getter (own or inherited) answers Node what it answered the check.
        const copy: Record<string, unknown> = {};
        for (const k of WASI_OPTIONS) {
          const v = (options as Record<string, unknown>)[k];
          if (v !== undefined) copy[k] = v;
        }
        const pre = copy.preopens;
        if (pre !== null && typeof pre === "object") {
          const plain: Record<string, string> = {};
          // As Node reads them (own enumerable entries, each value made a string once).
          for (const [guest, host] of Object.entries(pre)) plain[guest] = String(host);
          for (const guest of Object.keys(plain)) judgePreopen(plain[guest]!);
          copy.preopens = plain;
        }
        o = copy;
      }
      return construct(Orig, [o, ...args.slice(1)], new.target === Wrapped ? Orig : new.target);
    } as unknown as AnyFn;
    // Not reachable from the wrapper: no prototype link to Node's class, and the instances'
    // `constructor` is the wrapper (`new wasi.constructor(...)` is judged too).
    const proto = (Orig as { prototype: object }).prototype;
    defineProperty(Wrapped, "prototype", { value: proto });
    defineProperty(proto, "constructor", {
      value: Wrapped,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    (m as { WASI: unknown }).WASI = Wrapped;
    mod.syncBuiltinESMExports?.();
  };

  // require("wasi") / require("node:wasi"), and createRequire's.
  const load = mod._load;
  if (typeof load === "function") {
    mod._load = function (this: unknown, ...args: unknown[]) {
      const r = apply(load, this, args);
      if (!patched && (args[0] === "wasi" || args[0] === "node:wasi")) patch(r);
      return r;
    };
  }
  // process.getBuiltinModule("node:wasi") (Node 20.16+, 22.3+).
  const gbm = (process as unknown as { getBuiltinModule?: AnyFn }).getBuiltinModule;
  if (typeof gbm === "function") {
    (process as unknown as { getBuiltinModule: AnyFn }).getBuiltinModule = function (
      this: unknown,
      ...args: unknown[]
    ) {
      const r = apply(gbm, this, args);
      if (!patched && (args[0] === "wasi" || args[0] === "node:wasi")) patch(r);
      return r;
    };
  }
  // import "node:wasi": Node emits its experimental warning while the module is evaluated. An
  // assignment to process.emitWarning (a program silencing warnings) replaces what is called
  // after this check, not the check.
  const d = getOwnPropertyDescriptor(process, "emitWarning");
  if (d !== undefined && typeof d.value === "function") {
    let current = d.value as AnyFn;
    const emitWarning = function (this: unknown, ...args: unknown[]) {
      const w = args[0];
      const text = typeof w === "string" ? w : w instanceof Error ? w.message : "";
      if (!patched && text.startsWith("WASI is an experimental feature"))
        queueMicrotask(() => {
          if (!patched && typeof load === "function")
            patch(apply(load, mod, ["node:wasi", null, false]));
        });
      return apply(current, this, args);
    };
    defineProperty(process, "emitWarning", {
      configurable: true,
      enumerable: d.enumerable === true,
      get: () => emitWarning,
      set: (v: AnyFn) => {
        current = v;
      },
    });
  }
  return ["wasi.WASI"];
}

/** The policy layer's fs realpath, taken before the program (and the fs hooks) run. */
export function ownRealpathOf(fs: typeof FS): (p: string) => string {
  const native = fs.realpathSync.native;
  return (p: string) => native(p);
}
