import { CoreBudget, runWithBudget } from "../../sandbox/core-api.js";
import { type Limits, resolveLimits } from "../../sandbox/limits.js";
import { prepareModule } from "../../sandbox/prepare.js";
import type { GuardSpec } from "../config-types.js";
import { limitsOf } from "./limits.js";
import type { CoreRuntime } from "./runtime.js";

const warned = new Set<string>();

/** Instantiation and warm-up get this much time (and no fuel limit); invocations get the guard's. */
const LOAD_TIMEOUT_MS = 10_000;

/**
 * Component guards' runtime on Warden's sandbox: every core module of the component is
 * prepared (instrumented for time and fuel, memory and tables capped) and instantiated through
 * one budget per guard, so an invocation's deadline, fuel and memory cover all of them.
 * Loading (instantiation, reading the settings, the warm-up calls) runs under the same memory
 * cap but a load deadline of 10 s and no fuel limit: a JS engine's first calls cost far more
 * than its later ones, and must not make a guard with a tight per-call budget unloadable.
 * StarlingMonkey (componentize-js) declares a large function table, hence the raised table limit.
 * Instrumenting its ~12 MB engine takes seconds: the instrumented bytes are kept in the
 * sandbox's on-disk cache (`cacheDir`, default the sandbox's), so only the first start pays.
 */
export function sandboxRuntime(spec: GuardSpec, cacheDir?: string): CoreRuntime {
  const input = limitsOf(spec, { table_elements: 100_000, max_module_bytes: 64 * 1024 * 1024 });
  const limits: Limits = { ...resolveLimits(input, spec.id) };
  const call = { timeout: limits.timeout_ms, fuel: limits.fuel };
  // The budget reads its limits at every start and tick: switch them between load and calls.
  const budget = new CoreBudget(spec.id, limits);
  const relaxed = <T>(fn: () => T): T => {
    limits.timeout_ms = Math.max(call.timeout, LOAD_TIMEOUT_MS);
    limits.fuel = null;
    try {
      return runWithBudget(budget, fn);
    } finally {
      limits.timeout_ms = call.timeout;
      limits.fuel = call.fuel;
    }
  };
  return {
    async compile(bytes) {
      const cache = cacheDir === undefined ? {} : { cacheDir };
      const p = await prepareModule(bytes, { name: spec.id, limits: input, ...cache });
      // An unsafe cache directory or a rebuilt entry: say so once (every start pays otherwise).
      if (p.diskCacheNote !== null && !warned.has(p.diskCacheNote)) {
        warned.add(p.diskCacheNote);
        process.emitWarning(`guard "${spec.id}": ${p.diskCacheNote}`, "WardenCacheWarning");
      }
      return p.module;
    },
    instantiate: (module, imports) => budget.instantiateCore(module, imports),
    async instantiateComponent(fn) {
      limits.timeout_ms = Math.max(call.timeout, LOAD_TIMEOUT_MS);
      limits.fuel = null;
      try {
        return await runWithBudget(budget, fn);
      } finally {
        limits.timeout_ms = call.timeout;
        limits.fuel = call.fuel;
      }
    },
    load: relaxed,
    run: (fn) => runWithBudget(budget, fn),
  };
}
