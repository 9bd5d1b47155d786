/**
 * Decisions and their lattice: block > review > warn > display > suppress > allow.
 * `allow` and `block` (alias: deny) are the two ends most callers need. Combining two
 * decisions keeps the strictest; on a tie the first one stays (it decided first).
 *
 * - allow: go ahead, nothing to say.
 * - suppress: go ahead and keep it out of displays (noise).
 * - display: go ahead and show it.
 * - warn: go ahead and warn.
 * - review: hold until a person decides; not allowed on its own.
 * - block: no.
 */
export const VERDICTS = ["allow", "suppress", "display", "warn", "review", "block"] as const;
export type Verdict = (typeof VERDICTS)[number];

const RANK: Readonly<Record<Verdict, number>> = Object.freeze({
  allow: 0,
  suppress: 1,
  display: 2,
  warn: 3,
  review: 4,
  block: 5,
});

export interface Decision {
  readonly verdict: Verdict;
  /** Why, in words a person can act on. */
  readonly reason: string;
  /** Which strategy, guard or engine made it. */
  readonly by: string;
  /** Which rule decided (an id, or `file:line`), when one did. */
  readonly rule?: string;
  /** Anything else worth explaining (canonical input, timings...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The shared "nothing objected" decision; returned by chains without allocating. */
export const ALLOW: Decision = Object.freeze({
  verdict: "allow",
  reason: "no strategy objected",
  by: "chain",
});

export function rank(verdict: Verdict): number {
  return RANK[verdict];
}

export function isVerdict(value: unknown): value is Verdict {
  return typeof value === "string" && Object.hasOwn(RANK, value);
}

/** Accepts `deny` as an alias of `block`. */
export function parseVerdict(value: string): Verdict | undefined {
  if (value === "deny") return "block";
  return isVerdict(value) ? value : undefined;
}

/** True when the call may proceed without a person: allow, suppress, display or warn. */
export function isAllowed(decision: Decision): boolean {
  return RANK[decision.verdict] < RANK.review;
}

export function isBlocked(decision: Decision): boolean {
  return decision.verdict === "block";
}

/** The stricter of two decisions; on a tie, `a`. */
export function stricter(a: Decision, b: Decision): Decision {
  return RANK[b.verdict] > RANK[a.verdict] ? b : a;
}

/** The strictest of many; `ALLOW` for none. */
export function combine(decisions: Iterable<Decision>): Decision {
  let out = ALLOW;
  for (const d of decisions) out = stricter(out, d);
  return out;
}

export function decide(
  verdict: Verdict,
  reason: string,
  by: string,
  extra?: { rule?: string; details?: Record<string, unknown> },
): Decision {
  const d: {
    verdict: Verdict;
    reason: string;
    by: string;
    rule?: string;
    details?: Record<string, unknown>;
  } = {
    verdict,
    reason,
    by,
  };
  if (extra?.rule !== undefined) d.rule = extra.rule;
  if (extra?.details !== undefined) d.details = Object.freeze({ ...extra.details });
  return Object.freeze(d);
}

export function deny(reason: string, by: string, rule?: string): Decision {
  return decide("block", reason, by, rule === undefined ? undefined : { rule });
}

export function allow(reason: string, by: string, rule?: string): Decision {
  return decide("allow", reason, by, rule === undefined ? undefined : { rule });
}
