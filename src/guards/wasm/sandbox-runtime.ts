import { type CoreBudget, createBudget, runWithBudget } from "../../sandbox/core-api.js";
import { prepareModule } from "../../sandbox/prepare.js";
import type { GuardSpec } from "../config-types.js";
import { limitsOf } from "./limits.js";
import type { CoreRuntime } from "./runtime.js";

/**
 * Component guards' runtime on Warden's sandbox: every core module of the component is
 * prepared (instrumented for time and fuel, memory and tables capped) and instantiated through
 * one budget per guard, so an invocation's deadline, fuel and memory cover all of them, and the
 * instantiation itself runs under the same limits. StarlingMonkey (componentize-js) declares a
 * large function table, hence the raised table limit; its engine is a ~12 MB core module.
 */
export function sandboxRuntime(spec: GuardSpec): CoreRuntime {
  const limits = limitsOf(spec, { table_elements: 100_000, max_module_bytes: 64 * 1024 * 1024 });
  const budget: CoreBudget = createBudget(limits, spec.id);
  return {
    async compile(bytes) {
      return (await prepareModule(bytes, { name: spec.id, limits })).module;
    },
    instantiate: (module, imports) => budget.instantiateCore(module, imports),
    instantiateComponent: (fn) => runWithBudget(budget, fn),
    run: (fn) => runWithBudget(budget, fn),
  };
}
