import { type CoreRuntime, componentRuntime } from "../../sandbox/component/runtime.js";
import type { GuardSpec } from "../config-types.js";
import { limitsOf } from "./limits.js";

export type { CoreRuntime };

/**
 * A component guard's runtime on Warden's sandbox (src/sandbox/component/runtime.ts): one
 * budget per guard, the guard's limits per invocation, 10 s and no fuel for loading.
 * StarlingMonkey (componentize-js) declares a large function table, hence the raised table limit.
 */
export function sandboxRuntime(spec: GuardSpec, cacheDir?: string): CoreRuntime {
  return componentRuntime({
    name: spec.id,
    limits: limitsOf(spec, { table_elements: 100_000, max_module_bytes: 64 * 1024 * 1024 }),
    ...(cacheDir === undefined ? {} : { cacheDir }),
    warn: (m) => process.emitWarning(`guard "${spec.id}": ${m}`, "WardenCacheWarning"),
  });
}
