/**
 * Hooks that report what loads code: worker threads (each runs the agent itself, the preload
 * being inherited) and native addons (`process.dlopen`, whose own system calls no in-process
 * hook sees: docs/trace.md, "What is not seen").
 */
import type * as WT from "node:worker_threads";
import { spawnError } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

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

export function hookWorkers(wt: typeof WT, t: Tracer): string[] {
  const Orig = wt.Worker;
  const Wrapped = function (this: unknown, ...args: unknown[]) {
    const what = args[0] instanceof URL ? args[0].href : String(args[0]).slice(0, 200);
    const j = judged(t, "worker_threads.Worker", "worker_threads", "worker", what);
    if (j.verdict === "block") throw spawnError(what, [what], j);
    return Reflect.construct(Orig, args, new.target ?? Orig);
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
