/**
 * Sections with modes: the process sections (`commands`, `nodejs`, `python`, `http`,
 * `endpoints`) list patterns under `allow`, `deny`, `review`, `warn`, `log` and `noop`, each
 * a verdict on core's lattice (block > review > warn > display > suppress > allow). A
 * `default` says what no rule names. One section judges by:
 *
 * 1. the most specific matching rule (see `ProcessPattern.specificity`), as malwi does, so
 *    `allow: ["python* -c *setuptools.build_meta*"]` can carve an exception from
 *    `deny: ["python* -c *"]`;
 * 2. among equally specific ones, the strictest verdict;
 * 3. then the first in the file.
 */
import { rank, type Verdict } from "../../core/decision.js";
import type { CompileContext } from "../context.js";
import { markDeepFrozen } from "../freeze.js";
import { makeDecision, type Rule } from "../rule.js";
import type { Path } from "../source.js";
import type { DecisionCode, PolicyDecision } from "../types.js";
import { compileProcessPattern, type PatternOptions, type ProcessPattern } from "./pattern.js";

export const MODES = ["allow", "deny", "review", "warn", "log", "noop"] as const;
export type Mode = (typeof MODES)[number];

/** Each mode's verdict on core's lattice. */
export const MODE_VERDICT: Readonly<Record<Mode, Verdict>> = Object.freeze({
  allow: "allow",
  noop: "suppress",
  log: "display",
  warn: "warn",
  review: "review",
  deny: "block",
});

const PAST: Readonly<Record<Mode, string>> = {
  allow: "allowed",
  noop: "allowed quietly (noop)",
  log: "logged",
  warn: "warned",
  review: "held for review",
  deny: "denied",
};

export interface ModeRule extends Rule {
  readonly mode: Mode;
  readonly verdict: Verdict;
  readonly pattern: ProcessPattern;
  /** Argument constraints (`{ "eval": ["*"] }`): the rule matches when any argument matches one. */
  readonly args: readonly ProcessPattern[] | null;
}

export interface ModeSection {
  readonly rules: readonly ModeRule[];
  /** What no rule names: the section's `default`, or the type's. */
  readonly fallback: PolicyDecision;
  /** True when the section was written in the policy (an agent hooks only what is named). */
  readonly present: boolean;
}

/** A decision with its verdict: allowed for verdicts below review. */
export function verdictDecision(
  verdict: Verdict,
  code: DecisionCode,
  reason: string,
  rule?: { id: string; where: string },
): PolicyDecision {
  const allowed = rank(verdict) < rank("review");
  const d = makeDecision(allowed ? "allow" : "deny", code, reason, rule);
  return Object.freeze({ ...d, verdict });
}

/** A rule as written: a pattern, or `{ pattern: [argument patterns] }` (malwi's constrained form). */
export type RuleEntry = string | Readonly<Record<string, readonly string[]>>;

export interface ModeOptions extends PatternOptions {
  /** The section's name in messages (`commands`, `nodejs`...). */
  readonly label: string;
  /** The verdict when the section says no `default`. */
  readonly fallback: Mode;
  /** Rewrite a pattern before compiling it (`~` expansion), or refuse it with a reason. */
  readonly prepare?: (raw: string) => string | { refused: string };
}

/** Compile the mode lists and `default` of a section value. */
export function compileModes(
  value: Readonly<Record<string, unknown>>,
  ctx: CompileContext,
  path: Path,
  opts: ModeOptions,
  present: boolean,
): ModeSection {
  const rules: ModeRule[] = [];
  for (const mode of MODES) {
    const list = value[mode] as readonly RuleEntry[] | undefined;
    if (list === undefined) continue;
    list.forEach((entry, i) => {
      const at = [...path, mode, i];
      let raw: string;
      let argList: readonly string[] | null = null;
      if (typeof entry === "string") raw = entry;
      else {
        const keys = Object.keys(entry);
        if (keys.length !== 1) {
          ctx.error(
            at,
            "policy_bad_value",
            `a constrained rule is one pattern with its argument patterns, like { "eval": ["*"] }; this one has ${keys.length} keys`,
          );
          return;
        }
        raw = keys[0]!;
        argList = entry[raw]!;
      }
      const prepared = opts.prepare ? opts.prepare(raw) : raw;
      if (typeof prepared !== "string") {
        ctx.error(at, "policy_bad_pattern", prepared.refused);
        return;
      }
      const pattern = compileProcessPattern(prepared, opts);
      if (typeof pattern === "string") {
        ctx.error(at, "policy_bad_pattern", pattern);
        return;
      }
      let args: ProcessPattern[] | null = null;
      if (argList !== null) {
        args = [];
        for (const [j, a] of argList.entries()) {
          const p = compileProcessPattern(a);
          if (typeof p === "string") ctx.error([...at, raw, j], "policy_bad_pattern", p);
          else args.push(p);
        }
      }
      const verdict = MODE_VERDICT[mode];
      const base = ctx.rule(
        at,
        mode === "allow" || rank(verdict) < rank("review") ? "allow" : "deny",
      );
      const decision = verdictDecision(
        verdict,
        rank(verdict) < rank("review") ? "allow_rule" : "deny_rule",
        `${PAST[mode]} by ${base.id} "${raw}" (${base.where})`,
        base,
      );
      rules.push(
        markDeepFrozen(
          Object.freeze({
            ...base,
            decision,
            mode,
            verdict,
            pattern,
            args: args && Object.freeze(args),
          }),
        ),
      );
    });
  }
  const def = value.default as Mode | undefined;
  let fallback: PolicyDecision;
  if (def !== undefined) {
    const r = ctx.rule(
      [...path, "default"],
      rank(MODE_VERDICT[def]) < rank("review") ? "allow" : "deny",
    );
    fallback = verdictDecision(
      MODE_VERDICT[def],
      "default_rule",
      `${opts.label}: no rule names it; ${PAST[def]} by ${r.id}: ${def} (${r.where})`,
      r,
    );
  } else {
    const verdict = MODE_VERDICT[opts.fallback];
    fallback =
      verdict === "block"
        ? verdictDecision("block", "no_rule", `${opts.label}: no rule allows it (default deny)`)
        : verdictDecision(
            verdict,
            "default_rule",
            `${opts.label}: no rule names it (the section's default: ${opts.fallback})`,
          );
  }
  return { rules, fallback, present };
}

/**
 * The rule that decides `subject` (with `args` for constrained rules), or undefined when none
 * matches: most specific, then strictest, then first.
 */
export function bestRule(
  section: ModeSection,
  subject: string,
  args: readonly string[] | undefined,
): ModeRule | undefined {
  let best: ModeRule | undefined;
  for (const r of section.rules) {
    if (!r.pattern.test(subject)) continue;
    if (r.args !== null) {
      if (args === undefined || !args.some((a) => r.args!.some((p) => p.test(a)))) continue;
    }
    if (
      best === undefined ||
      r.pattern.specificity > best.pattern.specificity ||
      (r.pattern.specificity === best.pattern.specificity && rank(r.verdict) > rank(best.verdict))
    ) {
      best = r;
    }
  }
  return best;
}

/** The stricter of two decisions (on a tie, `a`). */
export function stricterDecision(a: PolicyDecision, b: PolicyDecision): PolicyDecision {
  return rank(verdictOf(b)) > rank(verdictOf(a)) ? b : a;
}

/** A policy decision's verdict: its own, or allow / block from its effect. */
export function verdictOf(d: PolicyDecision): Verdict {
  return d.verdict ?? (d.allowed ? "allow" : "block");
}
