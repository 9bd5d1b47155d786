import { type Decision, decide } from "../core/decision.js";
import type { PolicyDecision } from "./types.js";

/**
 * A policy decision as a core Decision: its verdict (a process section's mode), else allow / block, `by: "policy"`; `hint` (what to
 * add to allow it, policy/hints.ts) goes into `details.hint`.
 */
export function toCoreDecision(d: PolicyDecision, hint?: string): Decision {
  const details: Record<string, unknown> = { code: d.code };
  if (hint !== undefined) details.hint = hint;
  if (d.ruleId !== undefined) details.ruleId = d.ruleId;
  if (d.explanation !== undefined) details.explanation = d.explanation;
  return decide(d.verdict ?? (d.allowed ? "allow" : "block"), d.reason, "policy", {
    ...(d.rule !== undefined ? { rule: d.rule } : {}),
    details,
  });
}
