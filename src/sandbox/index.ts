/** The sandbox layer: WebAssembly plugins under hard limits (see docs/sandbox.md). */
export type { Verdict as PluginVerdict } from "./abi.js";
export { SANDBOX_CODES, type SandboxCode } from "./codes.js";
export { CoreBudget, createBudget, runWithBudget } from "./core-api.js";
export { type InspectReport, inspectModule } from "./inspect.js";
export {
  DEFAULT_LIMITS as DEFAULT_PLUGIN_LIMITS,
  type Limits as PluginLimits,
  type LimitsInput as PluginLimitsInput,
  resolveLimits as resolvePluginLimits,
} from "./limits.js";
export {
  type EvaluateOptions,
  type Evaluation,
  loadPlugin,
  Plugin,
  type PluginOptions,
} from "./plugin.js";
export {
  type FunctionSignature,
  type PreparedModule,
  type PrepareOptions,
  prepareModule,
} from "./prepare.js";
