/**
 * The lower-level API for hosts that instantiate core modules themselves, e.g. the core modules
 * inside a jco-transpiled component (`jco transpile --instantiation async`):
 *
 *   const budget = createBudget({ timeout_ms: 50 }, "my-guard");
 *   const getCoreModule = async (path) => (await prepareModule(bytesOf(path), { name, limits })).module;
 *   const component = await runWithBudget(budget, () =>
 *     instantiate(getCoreModule, imports, budget.instantiateCore));
 *   const out = runWithBudget(budget, () => component.evaluate(input));
 *
 * Every core instance made through `budget.instantiateCore` is metered by that budget; a run
 * (runWithBudget) shares one deadline and one fuel budget across all of them.
 */
import { WardenError } from "../core/errors.js";
import { Budget } from "./budget.js";
import { sandboxError } from "./errors.js";
import { RT_MODULE } from "./instrument.js";
import { type Limits, type LimitsInput, resolveLimits } from "./limits.js";
import { preparedOf } from "./prepare.js";
import { classify } from "./traps.js";

export class CoreBudget extends Budget {
  readonly memories: WebAssembly.Memory[] = [];
  /** Fuel used by the last run. */
  fuelUsed = 0;

  /**
   * jco-compatible `instantiateCore(module, imports)`: refuses modules that were not made by
   * prepareModule, adds the metering imports, and binds the instance to this budget.
   */
  readonly instantiateCore = async (
    module: WebAssembly.Module,
    imports: WebAssembly.Imports = {},
  ): Promise<WebAssembly.Instance> => {
    const prepared = preparedOf(module);
    if (!prepared) {
      throw sandboxError(
        "link_error",
        this.plugin,
        "instantiateCore got a module that was not made by prepareModule; prepare every core module so it runs under the limits",
        { import: RT_MODULE },
      );
    }
    if (imports[RT_MODULE]) {
      throw sandboxError("link_error", this.plugin, `imports may not define "${RT_MODULE}"`, {
        import: RT_MODULE,
      });
    }
    this.boundChunkByCode(prepared.maxBodyBytes);
    const counter = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
    const meter = this.addMeter(counter);
    const instance = await WebAssembly.instantiate(module, {
      ...imports,
      [RT_MODULE]: { fuel: counter, tick: () => this.tick(meter) },
    });
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory) this.memories.push(value);
    }
    return instance;
  };

  memoryBytes(): number | undefined {
    if (this.memories.length === 0) return undefined;
    return Math.max(...this.memories.map((m) => m.buffer.byteLength));
  }
}

/** A budget for core instances under `limits` (validated now; defaults for what is absent). */
export function createBudget(
  limits?: LimitsInput | Readonly<Limits>,
  name = "component",
): CoreBudget {
  return new CoreBudget(name, resolveLimits(limits, name));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/**
 * Run `fn` with `budget` active: one deadline (timeout_ms from now) and one fuel budget for all
 * the budget's instances. Guest code outside a run fails closed. Interrupts and traps become
 * WardenErrors (timeout, fuel_exhausted, memory_exceeded, trap). `fn` may return a promise.
 */
export function runWithBudget<T>(budget: CoreBudget, fn: () => T): T {
  if (budget.active) {
    throw new WardenError("invalid_argument", `budget "${budget.plugin}" is already running`, {
      category: "internal",
    });
  }
  budget.start();
  const fail = (error: unknown): never => {
    const memoryBytes = budget.memoryBytes();
    throw classify(error, {
      budget,
      phase: "call",
      ...(memoryBytes === undefined ? {} : { memoryBytes }),
    });
  };
  const done = () => {
    budget.fuelUsed = budget.finish();
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    done();
    return fail(error);
  }
  if (!isThenable(result)) {
    done();
    return result;
  }
  return Promise.resolve(result).then(
    (v) => {
      done();
      return v;
    },
    (error) => {
      done();
      return fail(error);
    },
  ) as T;
}
