/**
 * A component's core modules on Warden's sandbox. jco's glue (`instantiation: "async"`) asks
 * the host to compile and instantiate each core module: here every one is prepared by the
 * sandbox (instrumented for time and fuel, memory and tables capped) and instantiated through
 * one `CoreBudget`, so an invocation's deadline, fuel and memory cover all of them. Shared by
 * guards (src/guards/wasm) and hosted tools (src/hosted).
 */
import { CoreBudget, runWithBudget } from "../core-api.js";
import { type Limits, type LimitsInput, resolveLimits } from "../limits.js";
import { type PreparedModule, preparedOf, prepareModule } from "../prepare.js";

/**
 * What a component host needs from the sandbox: compile its core modules under the limits
 * (instrumented for time and fuel, memory capped), instantiate them with metering, and run
 * each invocation under a fresh budget, turning traps and exhausted limits into WardenErrors.
 */
export interface CoreRuntime {
  /** Check, instrument and compile one core module (cached by the sandbox). */
  compile(bytes: Uint8Array, name: string): Promise<WebAssembly.Module>;
  /** Instantiate a compiled core module with the given imports plus the sandbox's own. */
  instantiate(
    module: WebAssembly.Module,
    imports?: WebAssembly.Imports,
  ): Promise<WebAssembly.Instance>;
  /** Run a whole instantiation (start functions included) under the instantiation budget. */
  instantiateComponent<T>(fn: () => Promise<T>): Promise<T>;
  /** Run load-time guest code (settings, warm-up) under the load budget (wider deadline, no fuel). */
  load<T>(fn: () => T): T;
  /** Run one invocation under a fresh budget; throws the sandbox's WardenError on a limit or trap. */
  run<T>(fn: () => T): T;
}

/** A core instance made through a runtime, with the module it came from. */
export interface CoreInstanceRecord {
  readonly instance: WebAssembly.Instance;
  readonly prepared: PreparedModule;
}

export interface ComponentRuntimeOptions {
  /** The name errors and warnings use (a guard id, a component name). */
  name: string;
  /** The sandbox limits of one invocation. */
  limits: LimitsInput;
  /** Where instrumented modules are cached (default: the sandbox's). */
  cacheDir?: string;
  /** Instantiation and warm-up get at least this much time and no fuel limit (default 10 s). */
  loadTimeoutMs?: number;
  /** Told of every core instance made (hosted tools snapshot and reset them). */
  onInstance?: (record: CoreInstanceRecord) => void;
  /** Where a note about the on-disk cache goes (once per note). */
  warn?: (message: string) => void;
}

const warned = new Set<string>();

/**
 * Loading (instantiation, warm-up calls) runs under the same memory cap but a load deadline of
 * 10 s and no fuel limit: a JS engine's first calls cost far more than its later ones, and must
 * not make a component with a tight per-call budget unloadable. Instrumenting a ~12 MB engine
 * (componentize-js) takes seconds: the instrumented bytes are kept in the sandbox's on-disk
 * cache, so only the first start pays.
 */
export function componentRuntime(opts: ComponentRuntimeOptions): CoreRuntime {
  const input = opts.limits;
  const limits: Limits = { ...resolveLimits(input, opts.name) };
  const call = { timeout: limits.timeout_ms, fuel: limits.fuel };
  const loadTimeout = opts.loadTimeoutMs ?? 10_000;
  // The budget reads its limits at every start and tick: switch them between load and calls.
  const budget = new CoreBudget(opts.name, limits);
  const widen = () => {
    limits.timeout_ms = Math.max(call.timeout, loadTimeout);
    limits.fuel = null;
  };
  const narrow = () => {
    limits.timeout_ms = call.timeout;
    limits.fuel = call.fuel;
  };
  const warn =
    opts.warn ?? ((m: string) => process.emitWarning(`${opts.name}: ${m}`, "WardenCacheWarning"));
  return {
    async compile(bytes) {
      const cache = opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir };
      const p = await prepareModule(bytes, { name: opts.name, limits: input, ...cache });
      // An unsafe cache directory or a rebuilt entry: say so once (every start pays otherwise).
      if (p.diskCacheNote !== null && !warned.has(p.diskCacheNote)) {
        warned.add(p.diskCacheNote);
        warn(p.diskCacheNote);
      }
      return p.module;
    },
    async instantiate(module, imports) {
      const instance = await budget.instantiateCore(module, imports);
      const prepared = preparedOf(module);
      if (prepared !== undefined) opts.onInstance?.({ instance, prepared });
      return instance;
    },
    async instantiateComponent(fn) {
      widen();
      try {
        return await runWithBudget(budget, fn);
      } finally {
        narrow();
      }
    },
    load<T>(fn: () => T): T {
      widen();
      try {
        return runWithBudget(budget, fn);
      } finally {
        narrow();
      }
    },
    run: (fn) => runWithBudget(budget, fn),
  };
}
