/**
 * Evaluation with a trace, for `warden rules eval` and the admin API (POST /v1/rules/playground,
 * and the rules part of POST /v1/check): an action (the plugin input or a Warden action) judged
 * by a rule set, with each rule's result, each condition's value and each plugin call's
 * `wasm_details`.
 */
import type { RuleSet } from "./engine.js";
import { fromAction } from "./input.js";
import type { ActionContext, RuleAction, RuleTrace } from "./types.js";

export interface RulesEvaluation {
  /** The plugin input the rules saw. */
  input: ActionContext;
  /** The action decided (that of the deciding rule), or null: no rule objected. */
  decision: RuleAction | null;
  /** True unless the decision is deny or review. */
  allowed: boolean;
  rule: string | null;
  where: string | null;
  reason: string;
  rules_file: string;
  trace?: RuleTrace[];
}

/** Judge `action` (JSON value) by `rules`; throws rules_bad_action for an action it cannot map. */
export function evaluateAction(
  rules: RuleSet,
  action: unknown,
  opts: { trace?: boolean } = {},
): RulesEvaluation {
  const input = fromAction(action);
  const out = rules.evaluate(input, { trace: opts.trace === true });
  const e: RulesEvaluation = {
    input,
    decision: out.action,
    allowed: out.action !== "deny" && out.action !== "review",
    rule: out.rule,
    where: out.where,
    reason: out.reason,
    rules_file: rules.file,
  };
  if (out.trace !== undefined) e.trace = out.trace;
  return e;
}
