/**
 * Hooks that report what loads code: worker threads (each runs the agent itself, the preload
 * being inherited) and native addons (`process.dlopen`, whose own system calls no in-process
 * hook sees: docs/trace.md, "What is not seen").
 */
import type * as WT from "node:worker_threads";
import type { PolicyDecision } from "../../policy/types.js";
import { type TraceEnv, tracedEnv } from "../env.js";
import { because, fsError, spawnError } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";
import { FLUSHER_MARK } from "./wire.js";

const { getOwnPropertyDescriptor } = Object;

/** By the `nodejs` section where it names the function, else reported (display). */
function judged(
  t: Tracer,
  fn: string,
  module: string,
  kind: "worker" | "dlopen",
  target: string,
): Judged {
  const j = t.judge.names("nodejs", fn) ? t.judge.fn("nodejs", fn, [target]) : undefined;
  return j === undefined ? t.op(fn, module, { kind, target }) : t.record(fn, module, target, j);
}

/** A worker the hook refuses to start unjudged (Warden's own mark on the program's worker). */
const FORGED_MARK: PolicyDecision = Object.freeze({
  allowed: false,
  effect: "deny",
  code: "bad_action",
  reason: `workerData.${FLUSHER_MARK} is the mark of Warden's own flusher thread: a worker carrying it would run without the agent`,
});

/**
 * `new Worker(...)`: judged, and started with the agent. Node runs the preload in every worker,
 * which starts the agent only where the run's variables are in the worker's environment and the
 * worker is not Warden's flusher: a worker given `env: {}` (or started after the program
 * deleted them from process.env) or `workerData: {__wardenTraceFlusher: true}` ran the
 * program's code unhooked. The options are read once here (a getter answers Node what it answered
 * the check), the variables put back into the worker's environment as into a child's, and
 * the flusher's mark refused.
 */
export function hookWorkers(wt: typeof WT, t: Tracer, env: TraceEnv): string[] {
  const Orig = wt.Worker;
  const share = wt.SHARE_ENV;
  const Wrapped = function (this: unknown, ...args: unknown[]) {
    const what = args[0] instanceof URL ? args[0].href : String(args[0]).slice(0, 200);
    const opts = args[1];
    let o: Record<string, unknown> = {};
    if (opts !== null && typeof opts === "object") {
      for (const k in opts) o[k] = (opts as Record<string, unknown>)[k];
    } else if (opts !== undefined) o = opts as Record<string, unknown>; // Node's own error
    const wd = o.workerData;
    if (wd !== null && typeof wd === "object" && getOwnPropertyDescriptor(wd, FLUSHER_MARK)) {
      const j = t.record("worker_threads.Worker", "worker_threads", what, {
        verdict: "block",
        decision: FORGED_MARK,
      });
      throw spawnError(what, [what], j);
    }
    const j = judged(t, "worker_threads.Worker", "worker_threads", "worker", what);
    if (j.verdict === "block") throw spawnError(what, [what], j);
    if (typeof o === "object" && o !== null) {
      if (o.env === share) {
        // The program's own process.env, shared: the variables back into it.
        const traced = tracedEnv(process.env, env);
        if (traced.restored) Object.assign(process.env, traced.env);
      } else if (o.env === undefined || (o.env !== null && typeof o.env === "object")) {
        o.env = tracedEnv(
          { ...((o.env ?? process.env) as Record<string, string | undefined>) },
          env,
        ).env;
      }
    }
    const call = args.length > 1 ? [args[0], o, ...args.slice(2)] : [args[0], o];
    return Reflect.construct(Orig, call, new.target ?? Orig);
  } as unknown as typeof WT.Worker;
  Object.setPrototypeOf(Wrapped, Orig);
  (Wrapped as unknown as { prototype: unknown }).prototype = Orig.prototype;
  (wt as { Worker: typeof WT.Worker }).Worker = Wrapped;
  return ["worker_threads.Worker"];
}

export function hookDlopen(t: Tracer): string[] {
  const orig = process.dlopen;
  process.dlopen = function (this: unknown, ...args: unknown[]) {
    const file = String(args[1]);
    args[1] = file;
    // The library is a file the loader reads (and runs): a read of it, where the name is a path
    // (dlopen searches the system's library folders for a bare name).
    if (file.includes("/")) {
      const r = t.file("process.dlopen", false, file);
      if (r.verdict === "block") throw fsError("dlopen", file, r);
    }
    const j = judged(t, "process.dlopen", "process", "dlopen", file);
    if (j.verdict === "block") throw spawnError(file, [file], j);
    return Reflect.apply(orig, this, args);
  } as typeof process.dlopen;
  return ["process.dlopen"];
}

/**
 * Node's raw bindings reached by the program: `process.binding("fs")` (and `spawn_sync`,
 * `process_wrap`, the socket wraps, `cares_wrap`, `contextify`) give the native functions the
 * public modules call after the hooks, so a program using them read denied files, ran denied
 * commands and connected to denied hosts unjudged; `--expose-internals` gives `internalBinding`
 * through `require("internal/test/binding")`. Each is refused (as an unknown module, named in
 * the error) where the policy judges what it reaches (recorded as a block), unless the `nodejs`
 * section names `process.binding` and allows it; the other bindings (`util`, `constants`,
 * `natives`, ...) are left as they are.
 */
const RAW_BINDINGS: Readonly<Record<string, readonly string[]>> = {
  __proto__: null,
  fs: ["storage"],
  fs_dir: ["storage"],
  fs_event_wrap: ["storage"],
  spawn_sync: ["commands"],
  process_wrap: ["commands"],
  tcp_wrap: ["network", "endpoints"],
  udp_wrap: ["network", "endpoints"],
  pipe_wrap: ["network", "storage"],
  tls_wrap: ["network", "endpoints"],
  cares_wrap: ["network"],
  contextify: ["nodejs"],
} as unknown as Readonly<Record<string, readonly string[]>>;

function rawRefusal(what: string, why: string): PolicyDecision {
  return Object.freeze({
    allowed: false,
    effect: "deny",
    code: "bad_action",
    reason: `${what} ${why}: it goes around Warden's hooks`,
  }) as PolicyDecision;
}

function rawError(what: string, j: Judged): Error {
  const e = new Error(`No such module: ${what} (${because(j)})`) as Error & {
    code: string;
    warden: unknown;
  };
  e.code = "ERR_INVALID_MODULE";
  e.warden = { rule: j.decision?.rule, rule_id: j.decision?.ruleId, reason: j.decision?.reason };
  return e;
}

export function hookBindings(t: Tracer, mod: { _load?: (...a: unknown[]) => unknown }): string[] {
  const judgeRaw = (fn: string, what: string, sections: readonly string[]): Judged | undefined => {
    if (t.judge.names("nodejs", fn)) {
      const j = t.judge.fn("nodejs", fn, [what]);
      if (j !== undefined) return t.record(fn, "process", what, j);
    }
    if (!sections.some((s) => t.judge.judges(s))) return undefined;
    return t.record(fn, "process", what, {
      verdict: "block",
      decision: rawRefusal(what, "reaches Node's native functions behind the public modules"),
    });
  };
  const proc = process as unknown as { binding?: (...a: unknown[]) => unknown };
  const binding = proc.binding;
  if (typeof binding === "function") {
    proc.binding = function (this: unknown, ...args: unknown[]) {
      const name = String(args[0]);
      const sections = RAW_BINDINGS[name];
      if (sections !== undefined) {
        const j = judgeRaw("process.binding", name, sections);
        if (j?.verdict === "block") throw rawError(name, j);
        return Reflect.apply(binding, this, [name, ...args.slice(1)]);
      }
      return Reflect.apply(binding, this, args);
    };
  }
  const load = mod._load;
  if (typeof load === "function") {
    mod._load = function (this: unknown, ...args: unknown[]) {
      const req = args[0];
      // Only with --expose-internals does Node load these; each reaches internalBinding.
      if (
        typeof req === "string" &&
        (req.startsWith("internal/") || req.startsWith("node:internal/"))
      ) {
        const j = judgeRaw("require.internal", req, ["storage", "commands", "network", "nodejs"]);
        if (j?.verdict === "block") throw rawError(req, j);
      }
      return Reflect.apply(load, this, args);
    };
  }
  return ["process.binding", "require.internal"];
}
