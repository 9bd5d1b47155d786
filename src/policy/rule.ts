import type { DecisionCode, Effect, PolicyDecision } from "./types.js";

/** One rule of a compiled policy: where it is, what it says, and its preallocated answer. */
export interface Rule {
  /** Source order across the whole policy; the lowest index wins among matches. */
  readonly index: number;
  /** Key path, e.g. `mcp.tools.allow[0]`. */
  readonly id: string;
  /** `file:line`. */
  readonly where: string;
  readonly effect: Effect;
  /** The decision this rule gives, frozen once (checks allocate nothing). */
  readonly decision: PolicyDecision;
}

export function makeDecision(
  effect: Effect,
  code: DecisionCode,
  reason: string,
  rule?: { id: string; where: string },
): PolicyDecision {
  const d: {
    allowed: boolean;
    effect: Effect;
    code: DecisionCode;
    reason: string;
    rule?: string;
    ruleId?: string;
  } = { allowed: effect === "allow", effect, code, reason };
  if (rule) {
    d.rule = rule.where;
    d.ruleId = rule.id;
  }
  return Object.freeze(d);
}

const noRuleCache = new Map<string, Map<string, PolicyDecision>>();

/** The default-deny answer for a kind (one frozen object per kind and text, made once). */
export function noRule(kind: string, what = "no rule allows it"): PolicyDecision {
  let byWhat = noRuleCache.get(what);
  if (byWhat === undefined) noRuleCache.set(what, (byWhat = new Map()));
  let d = byWhat.get(kind);
  if (d === undefined) {
    d = makeDecision("deny", "no_rule", `${kind}: ${what} (default deny)`);
    byWhat.set(kind, d);
  }
  return d;
}

/**
 * The default-deny answers for one text, one per kind, made when the module loads: a check
 * reads a property instead of two Map lookups in `noRule`.
 */
export function noRuleTable(
  what: string,
  kinds: readonly string[],
): Readonly<Record<string, PolicyDecision>> {
  const out: Record<string, PolicyDecision> = {};
  for (const k of kinds) out[k] = noRule(k, what);
  return Object.freeze(out);
}

export function badAction(kind: string, reason: string): PolicyDecision {
  return makeDecision("deny", "bad_action", `${kind}: ${reason}`);
}

export function notCanonical(kind: string, reason: string): PolicyDecision {
  return makeDecision("deny", "not_canonical", `${kind}: ${reason}; denied`);
}

export function conditionFailed(rule: Rule, reason: string): PolicyDecision {
  return makeDecision("deny", "condition", `${reason} (rule ${rule.id} at ${rule.where})`, rule);
}

/** Stable JSON (sorted keys) for rule content keys. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}
