/**
 * Warden's public API: what a library user needs, named one by one (test/api.test.ts pins the
 * list, so a change here is deliberate). Everything else in src/ is internal and may change.
 * The layers' own index.ts files export more, for the CLI and the other layers.
 */

/** Audit (docs/audit.md): the shape of one audit line, for readers of the log. */
export type {
  ArgumentsMode,
  AuditConfig,
  AuditLevel,
  AuditOutcome,
  AuditPhase,
  AuditRecord,
} from "./audit/record.js";
/**
 * Core: the interceptor chain (docs/core.md). A `Call` goes through a `Chain` of strategies
 * that return decisions on the lattice block > review > warn > display > suppress > allow; the
 * firewall, statistics and logging strategies ship with it. Errors are `WardenError`s with a
 * stable `code` (docs/errors.md).
 */
export { type Call, type CallMeta, makeCall, type Phase } from "./core/call.js";
export { Chain, composeChain } from "./core/chain.js";
export { CORE_CODES, type CoreCode } from "./core/codes.js";
export {
  ALLOW,
  allow,
  combine,
  type Decision,
  decide,
  deny,
  isAllowed,
  isBlocked,
  stricter,
  VERDICTS,
  type Verdict,
} from "./core/decision.js";
export {
  type ErrorCategory,
  exitCodeFor,
  isWardenError,
  WardenError,
} from "./core/errors.js";
export {
  FirewallBuilder,
  type FirewallEffect,
  type FirewallRule,
  FirewallStrategy,
} from "./core/strategies/firewall.js";
export { type LoggingOptions, LoggingStrategy } from "./core/strategies/logging.js";
export {
  type FunctionStats,
  type StatisticsConfig,
  type StatisticsSnapshot,
  StatisticsStrategy,
} from "./core/strategies/statistics.js";
export type { Strategy } from "./core/strategy.js";
/**
 * Guards (docs/guards.md): parse a `security_guards` section, load it into a `GuardSet` (one
 * core chain per phase, each guard wrapped by its `failure_mode`) and run payloads through it,
 * as `warden guard test` does.
 */
export { BUILTIN_TYPES, type BuiltinType } from "./guards/builtin/registry.js";
export { GUARD_CODES, type GuardCode } from "./guards/codes.js";
export {
  formatGuardIssues,
  type ParseGuardsOptions,
  parseGuardsConfig,
  parseGuardsYaml,
} from "./guards/config.js";
export type {
  FailureMode,
  GuardConfigIssue,
  GuardLimits,
  GuardSpec,
  GuardsConfigResult,
} from "./guards/config-types.js";
export { type LoadGuardsOptions, loadGuards } from "./guards/loader.js";
export { type GuardRun, GuardSet, type GuardTrail } from "./guards/set.js";
export {
  type DecisionKind,
  GUARD_PHASES,
  type GuardContext,
  type GuardDecision,
  type GuardPhase,
  type PhasePayload,
} from "./guards/types.js";
/**
 * Gateway (docs/gateway.md): load a warden.yaml with located errors and start the MCP gateway
 * from it; extra core strategies run after the policy and the guards on every judged message,
 * with `call.meta` a `GatewayCallMeta`.
 */
export { CONFIG_ISSUE_CODES, type ConfigIssueCode, MCP_CODES, type McpCode } from "./mcp/codes.js";
export {
  formatIssues as formatConfigIssues,
  loadConfig as loadGatewayConfig,
  parseConfig as parseGatewayConfig,
} from "./mcp/config.js";
export type {
  ConfigIssue,
  GatewayConfig,
  ListenConfig,
  UpstreamConfig,
} from "./mcp/config-types.js";
export { Gateway, type GatewayOptions, type ReloadResult } from "./mcp/gateway.js";
export {
  DENIED as DENIED_ERROR_CODE,
  UPSTREAM_UNAVAILABLE as UPSTREAM_UNAVAILABLE_ERROR_CODE,
} from "./mcp/jsonrpc.js";
export {
  type GatewayCallMeta,
  type GatewayPhase,
  type Judges,
  PHASES as GATEWAY_PHASES,
} from "./mcp/judges.js";
export type {
  DecisionFilter,
  GatewayViews,
  NotReady,
  Readiness,
  ToolPin,
  UpstreamHealth,
  UpstreamState,
} from "./mcp/views.js";
/**
 * Policy (docs/policy.md): compile once, check many. `compilePolicy` / `loadPolicyFile` give a
 * frozen `CompiledPolicy` or located errors; `check(action, { explain })` decides and explains;
 * `PolicyHolder` swaps policies at runtime; `toCoreDecision` turns a decision into a core one.
 * Canonicalizers and real-path resolvers are the ones the checks use. New permission types are
 * registered with `registerPermissionType` (the "Extensions" section).
 */
export {
  type CanonHost,
  canonicalizeHost,
} from "./policy/canon/host.js";
export { canonicalizeName } from "./policy/canon/name.js";
export { canonicalizePath, type PathOptions } from "./policy/canon/path.js";
export type { Canon } from "./policy/canon/result.js";
export {
  type CanonUrl,
  canonicalizeResourceUri,
  canonicalizeUrl,
} from "./policy/canon/url.js";
export { POLICY_CODES, type PolicyCode } from "./policy/codes.js";
export { type CompileOptions, type CompileResult, compilePolicy } from "./policy/compile.js";
export type { CheckContext, CompileContext } from "./policy/context.js";
export { toCoreDecision } from "./policy/core-decision.js";
export { PolicyHolder } from "./policy/holder.js";
export {
  type LoadOptions as PolicyLoadOptions,
  loadPolicyFile,
  loadPolicyFileSync,
  resolveRealPath,
  resolveRealPathSync,
} from "./policy/io.js";
export type { CompiledPolicy } from "./policy/policy.js";
export { PolicyState } from "./policy/rate-limit.js";
export {
  type Matcher,
  type PermissionType,
  permissionTypes,
  registerPermissionType,
  unregisterPermissionType,
} from "./policy/registry.js";
export { badAction, makeDecision, type Rule } from "./policy/rule.js";
export { S, type Schema } from "./policy/schema.js";
export type { Path } from "./policy/source.js";
export type { Limits, RuntimeSettings } from "./policy/types/limits.js";
export type {
  Action,
  ActionKind,
  CheckOptions,
  DecisionCode,
  Effect,
  Explanation,
  PolicyDecision,
  PolicyError,
} from "./policy/types.js";
/**
 * Sandbox (docs/sandbox.md): WebAssembly plugins under hard limits. `loadPlugin` for a JSON-ABI
 * plugin, `inspectModule` to look at one, and `prepareModule` + `createBudget` +
 * `runWithBudget` to run a jco-transpiled component under one budget.
 */
export type { Verdict as PluginVerdict } from "./sandbox/abi.js";
export { SANDBOX_CODES, type SandboxCode } from "./sandbox/codes.js";
export { type CoreBudget, createBudget, runWithBudget } from "./sandbox/core-api.js";
export { type InspectReport, inspectModule } from "./sandbox/inspect.js";
export {
  DEFAULT_LIMITS as DEFAULT_PLUGIN_LIMITS,
  type Limits as PluginLimits,
  type LimitsInput as PluginLimitsInput,
} from "./sandbox/limits.js";
export {
  type EvaluateOptions,
  type Evaluation,
  loadPlugin,
  type Plugin,
  type PluginOptions,
} from "./sandbox/plugin.js";
export {
  type FunctionSignature,
  type PreparedModule,
  type PrepareOptions,
  prepareModule,
} from "./sandbox/prepare.js";
