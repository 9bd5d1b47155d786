/**
 * The rules as one core strategy, handed to the gateway (cli composes it from `rules: FILE`).
 * It judges tools/call (phase tool_invoke), prompts/get and resources/read (phase request)
 * after the policy: the policy is first in every chain and its deny stops the chain, so rules
 * only see what the policy allowed. The first matching rule decides: deny blocks, review holds
 * (the gateway refuses it with rule_review: it holds no call waiting for a person), warn warns,
 * log lets it through as `display`; allow or no match objects to nothing. `details.code` is
 * the stable code of the refusal (rule_denied, rule_review, rule_plugin_error, rule_eval_error). The decision names the rule: `rule` is its file:line, and
 * `details.ruleId` its name (the audit line's rule_id).
 */
import type { Call } from "../core/call.js";
import { type Decision, decide, type Verdict } from "../core/decision.js";
import type { Strategy } from "../core/strategy.js";
import type { RuleSet } from "./engine.js";
import { fromGatewayCall, type RulesCallMeta } from "./input.js";
import type { RuleAction, RulesOutcome } from "./types.js";

/** The rules in force; swapped on reload. */
export interface RulesSource {
  readonly current: RuleSet | null;
}

const VERDICT: Readonly<Record<RuleAction, Verdict | null>> = {
  allow: null,
  deny: "block",
  review: "review",
  warn: "warn",
  log: "display",
};

/** The core decision of a rules outcome (undefined: nothing to object). */
export function toDecision(out: RulesOutcome, file: string): Decision | undefined {
  if (out.action === null) return undefined;
  const verdict = VERDICT[out.action];
  if (verdict === null) return undefined;
  return decide(verdict, out.reason, "rules", {
    ...(out.where === null ? {} : { rule: out.where }),
    details: {
      ruleId: out.rule,
      action: out.action,
      rules: file,
      ...(out.code === undefined ? {} : { code: out.code }),
    },
  });
}

export function rulesStrategy(source: RulesSource): Strategy<RulesCallMeta> {
  return {
    name: "rules",
    beforeCall(call: Call<RulesCallMeta>): Decision | undefined {
      const rules = source.current;
      const meta = call.meta;
      if (rules === null || meta === undefined) return undefined;
      const ctx = fromGatewayCall(call.function, call.args, meta);
      if (ctx === null) return undefined;
      return toDecision(rules.evaluate(ctx), rules.file);
    },
  };
}
