/**
 * The rules layer's shapes: the plugin input (Acteon's action context), rules as compiled,
 * the plugins a rule calls, and what an evaluation explains (docs/rules.md).
 */

/**
 * What a rule judges, and what a plugin receives as JSON: Acteon's action context. A Warden
 * call maps onto it in `input.ts` (tenant = caller, provider = upstream, action_type = tool name,
 * payload = arguments).
 */
export interface ActionContext {
  namespace: string;
  tenant: string;
  provider: string;
  action_type: string;
  payload: unknown;
  metadata: Record<string, string>;
}

/** What a plugin said (the seed's output), with what it cost. */
export interface PluginResult {
  verdict: boolean;
  message?: string;
  metadata?: Record<string, unknown>;
  duration_us: number;
  memory_used_bytes: number;
}

/**
 * The plugins rules call by name. Synchronous: the sandbox runs a plugin to completion or to
 * its limit on the caller's thread. `invoke` throws (a WardenError with the sandbox's code) when
 * the plugin is unknown or fails; the rule's on_error then decides. The admin layer's registry
 * implements it; `DirectoryPlugins` (plugins.ts) is the implementation over a folder of .wasm.
 */
export interface RulePlugins {
  invoke(plugin: string, fn: string, input: ActionContext): PluginResult;
  /** Whether a plugin of this name is known now (for messages; optional). */
  has?(plugin: string): boolean;
}

/** What a matching rule does. */
export type RuleAction = "allow" | "deny" | "review" | "warn" | "log";
/** What a rule that cannot be evaluated does: an action, or skip (counts as not matching). */
export type OnError = RuleAction | "skip";

export const OPERATORS = [
  "eq",
  "ne",
  "in",
  "not_in",
  "contains",
  "starts_with",
  "ends_with",
  "matches",
  "gt",
  "gte",
  "lt",
  "lte",
  "exists",
] as const;
export type Operator = (typeof OPERATORS)[number];

/** One condition's result in a trace: a leaf (field test) or a group. */
export interface ConditionTrace {
  /** Where the condition is: `rules[2].conditions[0].any[1]`. */
  at: string;
  /** `field operator value` for a leaf; `all` / `any` / `not` for a group. */
  test: string;
  /** The field's value as the rule saw it (leaves; undefined: the field is missing). */
  actual?: unknown;
  result: boolean;
}

/** The seed's trace entry of a plugin call. */
export interface WasmDetails {
  plugin: string;
  function: string;
  verdict: boolean | null;
  message?: string;
  duration_us: number;
  memory_used_bytes: number;
  /** The sandbox's code when the call failed (on_error decided). */
  error?: { code: string; message: string };
}

/** One rule in a trace. */
export interface RuleTrace {
  rule_name: string;
  /** `file:line` of the rule. */
  where: string;
  priority: number;
  source: "yaml" | "cel" | "wasm_plugin";
  /** matched, not_matched, skipped (disabled, or on_error: skip), error, not_reached. */
  result: "matched" | "not_matched" | "skipped" | "disabled" | "error" | "not_reached";
  action: RuleAction;
  conditions?: ConditionTrace[];
  /** The CEL expression's value (CEL rules). */
  cel?: { expression: string; value: unknown };
  wasm_details?: WasmDetails[];
  error?: { code: string; message: string; on_error: OnError };
}

/** How the rules ended: the deciding rule (null: none matched, the policy's allow stands). */
export type RuleCode = "rule_denied" | "rule_review" | "rule_plugin_error" | "rule_eval_error";

export interface RulesOutcome {
  /** The action decided: that of the first rule that matched, or its on_error. */
  action: RuleAction | null;
  /** The rule that decided, by name, and its place. */
  rule: string | null;
  where: string | null;
  reason: string;
  /**
   * The stable code (docs/errors.md, rules): `rule_denied` / `rule_review` for a rule that
   * matched with deny / review, `rule_plugin_error` / `rule_eval_error` for a rule that could
   * not be evaluated (its on_error decided). Absent when no rule decided, or one matched with
   * allow, warn or log.
   */
  code?: RuleCode;
  /** Present when evaluated with a trace: one entry per rule, in evaluation order. */
  trace?: RuleTrace[];
}
