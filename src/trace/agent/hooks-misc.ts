/**
 * Hooks that report what loads code: worker threads (each runs the agent itself, the preload
 * being inherited) and native addons (`process.dlopen`, whose own system calls no in-process
 * hook sees: docs/trace.md, "What is not seen").
 */
import type * as WT from "node:worker_threads";
import type { PolicyDecision } from "../../policy/types.js";
import { type TraceEnv, tracedEnv } from "../env.js";
import { spawnError } from "./errors.js";
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
    const j = judged(t, "process.dlopen", "process", "dlopen", file);
    if (j.verdict === "block") throw spawnError(file, [file], j);
    return Reflect.apply(orig, this, args);
  } as typeof process.dlopen;
  return ["process.dlopen"];
}
