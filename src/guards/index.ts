/** The guards layer: built-in and WebAssembly guards judging MCP payloads (see docs/guards.md). */

export type { GuardEnv, SeenTool, SharedPins } from "./builtin/pin-store.js";
export {
  approvePins,
  listPins,
  type Pin,
  type PinRow,
  type PinVersion,
  readPins,
  toolHash,
} from "./builtin/pins.js";
export { BUILTIN_TYPES, type BuiltinType } from "./builtin/registry.js";
export { GUARD_CODES, type GuardCode } from "./codes.js";
export {
  formatGuardIssues,
  GUARD_DEFAULTS,
  type ParseGuardsOptions,
  parseGuardsConfig,
  parseGuardsYaml,
} from "./config.js";
export type {
  FailureMode,
  GuardConfigIssue,
  GuardLimits,
  GuardSpec,
  GuardsConfigResult,
} from "./config-types.js";
export { blockOf, GUARD_ALLOW, guardDeny, guardModify, guardWarn } from "./decision.js";
export { describeFailure, withFailureMode } from "./failure.js";
export { type GuardCallMeta, guardStrategy } from "./guard-strategy.js";
export { type LoadGuardsOptions, loadGuard, loadGuards } from "./loader.js";
export { type GuardRun, GuardSet, type GuardTrail, type LoadedGuard } from "./set.js";
export {
  type GuardAuditNote,
  type GuardHookOptions,
  type GuardHostMeta,
  guardStrategies,
} from "./strategy.js";
export { type HiddenTool, ToolCatalog, ToolVerdicts } from "./tool-verdicts.js";
export {
  type DecisionKind,
  GUARD_PHASES,
  type Guard,
  type GuardContext,
  type GuardDecision,
  type GuardPhase,
  type GuardTool,
  type InvocationInfo,
  type PhasePayload,
  type ResponseInfo,
  type ServerInfo,
} from "./types.js";
