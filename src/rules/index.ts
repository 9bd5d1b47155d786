/** The rules layer: YAML and CEL rules judged after the policy (docs/rules.md). */
export { RULES_CODES, type RulesCode } from "./codes.js";
export { type CompiledRule, RuleSet } from "./engine.js";
export { fromAction, fromGatewayCall, type RulesCallMeta } from "./input.js";
export {
  formatRulesProblems,
  loadRulesFile,
  loadRulesOrThrow,
  parseRules,
  type RulesLoadOptions,
  type RulesLoadResult,
  type RulesProblem,
} from "./load.js";
export { evaluateAction, type RulesEvaluation } from "./playground.js";
export { DirectoryPlugins, type DirectoryPluginsOptions } from "./plugins.js";
export { type RulesSource, rulesStrategy, toDecision } from "./strategy.js";
export type {
  ActionContext,
  ConditionTrace,
  OnError,
  PluginResult,
  RuleAction,
  RulePlugins,
  RulesOutcome,
  RuleTrace,
  WasmDetails,
} from "./types.js";
