/**
 * Denials as MCP errors: a JSON-RPC error with code -32003 whose message names the rule and
 * says what to change, and whose `data` carries the same facts for programs
 * (see docs/gateway.md, "Denials").
 */
import type { Decision } from "../core/decision.js";
import type { McpCode } from "./codes.js";
import { DENIED, type ErrorResponse, errorResponse, type Id } from "./jsonrpc.js";

export interface DenialFacts {
  code: McpCode;
  /** What was asked, e.g. `tools/call "files__delete"`. */
  what: string;
  /** The policy section a user edits to allow it, e.g. "mcp.tools". */
  section: string;
  policyFile: string;
}

function policyHint(d: Decision, f: DenialFacts): string {
  const at = d.rule === undefined ? undefined : `the rule at ${d.rule}`;
  switch (d.details?.code) {
    case "deny_rule":
      return `To allow it, remove or narrow ${at ?? "the deny rule"} (deny rules beat allow rules).`;
    case "condition":
      return `${at === undefined ? "An allow rule" : `The rule at ${d.rule}`} matches the name but not this request: widen its conditions (parameters, max_length, operations, callers) if this call is legitimate.`;
    case "rate_limited":
      return `Wait a minute, or raise max_calls_per_minute of ${at ?? "the rule"}.`;
    default: {
      // The exact key and value when the policy layer could tell them (policy/hints.ts).
      const hint = d.details?.hint;
      return typeof hint === "string"
        ? `Nothing in ${f.policyFile} allows it (no allow means deny): ${hint}.`
        : `Nothing in ${f.policyFile} allows it (no allow means deny): add an allow entry under ${f.section}.`;
    }
  }
}

export function denialMessage(d: Decision, f: DenialFacts): string {
  const rule = d.rule === undefined || d.reason.includes(d.rule) ? "" : ` (rule ${d.rule})`;
  const hint =
    d.by === "policy"
      ? policyHint(d, f)
      : d.by === "rules"
        ? d.verdict === "review"
          ? `A rule of ${String(d.details?.rules ?? "the rules file")} asks for a person's review, and the gateway holds no call waiting for one: it is refused (rule_review). Have an operator make the call, or change that rule's action (docs/rules.md).`
          : `A rule of ${String(d.details?.rules ?? "the rules file")} refused it (docs/rules.md); change that rule if this is wrong.`
        : d.by === "state"
          ? "Calls under no rate limit are still served."
          : `Guard "${d.by}" refused it; change that guard's configuration if this is wrong.`;
  return `Warden denied ${f.what}: ${d.reason}${rule}. ${hint}`;
}

/**
 * A rules refusal's own code (rule_denied, rule_review, rule_plugin_error, rule_eval_error), or
 * state_unavailable (state.redis down).
 */
export function denialCode(d: Decision): string | undefined {
  const code = d.details?.code;
  if (d.by === "state" && code === "state_unavailable") return code; // shared-limits.ts
  return d.by === "rules" && typeof code === "string" && code.startsWith("rule_")
    ? code
    : undefined;
}

export function denialError(id: Id | null, d: Decision, f: DenialFacts): ErrorResponse {
  const data: Record<string, unknown> = {
    warden: d.by === "policy" ? f.code : (denialCode(d) ?? "guard_denied"),
    reason: d.reason,
    by: d.by,
    policy: f.policyFile,
  };
  if (d.rule !== undefined) data.rule = d.rule;
  const ruleId = d.details?.ruleId;
  if (ruleId !== undefined) data.ruleId = ruleId;
  if (d.details?.code !== undefined) data.decision = d.details.code;
  if (d.verdict === "review") data.review = true;
  return errorResponse(id, DENIED, denialMessage(d, f), data);
}
