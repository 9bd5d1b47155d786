import { confusableSkeletons, confusableTable } from "../canon/confusable.js";
import { canonicalizeName } from "../canon/name.js";
import type { CompileContext } from "../context.js";
import { makeDecision, type Rule } from "../rule.js";
import type { Path } from "../source.js";
import type { PolicyDecision } from "../types.js";
import { Interned, Memo } from "./memo.js";
import { addNamePattern } from "./names.js";
import { FILTER_FROM, LengthPlan, lengthPlan, PatternSet, SEED, step } from "./pattern-set.js";

/** Allow and deny rules over names (tools, prompts, environment keys). */
export interface NamedRules<A extends Rule> {
  readonly allow: PatternSet<A>;
  /** Folded to lower case: a deny matches whatever the case. */
  readonly deny: PatternSet<Rule>;
  /** Bucket lengths shared by both sets: one pass over a name hashes for both (`scanName`). */
  readonly plan: LengthPlan;
  /** What `nameVerdict` found for raw names seen before (see `Memo`). */
  readonly memo: Memo<NameVerdict<A>>;
  /** The verdicts canonical names share, by the rule decision they hit (see `shared`). */
  readonly verdicts: Interned<object, NameVerdict<A>>;
}

/** What the rules say about one name, whatever else the action carries. */
export interface NameVerdict<A extends Rule> {
  /** The canonical name; null when the raw name is canonical as it is (one verdict serves all). */
  readonly name: string | null;
  /** The deny decision (a deny rule or a look-alike of a denied name), if any. */
  readonly deny: PolicyDecision | undefined;
  /** The first allow rule in source order matching the name, if any. */
  readonly first: A | undefined;
}

/**
 * The verdict of `c` on a raw name: deny rules on the name folded to lower case (and, for a
 * non-ASCII name, on its look-alike skeletons), then the first allow rule on the exact
 * canonical name. A string when the name cannot be canonicalized (the reason). Remembered per
 * raw name (`c.memo`): a repeated name costs one Map lookup.
 */
export function nameVerdict<A extends Rule>(
  c: NamedRules<A>,
  raw: string,
): NameVerdict<A> | string {
  const known = c.memo.get(raw);
  if (known !== undefined) return known;
  let name = raw;
  let deny: PolicyDecision | undefined;
  let first: A | undefined;
  // Plain ASCII names are canonical as they are (the common case): one pass checks that and
  // hashes the name's prefixes for both the deny and the allow set.
  const count = scanName(name, c.plan);
  if (count >= 0) {
    const upper = scannedHadUpper();
    deny = c.deny.probe(upper ? name.toLowerCase() : name, FOLDED_HASHES, count)?.decision;
    if (deny === undefined) first = c.allow.probe(name, upper ? NAME_HASHES : FOLDED_HASHES, count);
  } else {
    const n = canonicalizeName(name);
    if (!n.ok) return n.reason;
    name = n.value;
    deny = c.deny.first(name.toLowerCase())?.decision ?? denyLookAlike(c.deny, name);
    if (deny === undefined) first = c.allow.first(name);
  }
  const v: NameVerdict<A> = name === raw ? shared(c, deny, first) : { name, deny, first };
  c.memo.set(raw, v);
  return v;
}

/**
 * The verdict for canonical names that hit `deny` / `first`, one object per rule: a memo of
 * many names then holds references, not an object per name (less for the collector to copy).
 */
function shared<A extends Rule>(
  c: NamedRules<A>,
  deny: PolicyDecision | undefined,
  first: A | undefined,
): NameVerdict<A> {
  return c.verdicts.get(deny ?? first ?? c, () => Object.freeze({ name: null, deny, first }));
}

/** Hashes of the scanned name's prefixes, as is (allow) and folded to lower case (deny). */
export const NAME_HASHES = new Int32Array(12);
export const FOLDED_HASHES = new Int32Array(12);
let scannedUpper = false;

/**
 * Whether the name last scanned by `scanName` had upper case: then its deny fold differs and
 * `NAME_HASHES` holds its own hashes; otherwise both are in `FOLDED_HASHES`.
 */
export function scannedHadUpper(): boolean {
  return scannedUpper;
}

/**
 * One pass over a name: checks that it is plain printable ASCII without spaces (canonical as
 * it is; -1 otherwise: canonicalize it and use `first`) and hashes its prefixes folded to lower
 * case (`FOLDED_HASHES`, for deny rules) at the plan's lengths. A name with upper case (rare)
 * gets a second pass for its own hashes (`NAME_HASHES`, for allow rules); without, the two are
 * the same. Returns how many of the plan's lengths fit the name, for `PatternSet.probe`.
 */
export function scanName(s: string, plan: LengthPlan): number {
  const n = s.length;
  if (n === 0) return -1;
  // No pattern starts with the name's first two characters in any case: hash nothing.
  const m = plan.filtered && !mayMatchName(s, n, plan) ? 0 : plan.count;
  let h = SEED;
  let k = 0;
  let i = 0;
  let upper = 0;
  // The hashed prefix: check, fold and hash each character up to each planned length.
  for (; k < m; k++) {
    const L = plan.at(k);
    if (L > n) break;
    for (; i < L; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x21 || c > 0x7e) return -1;
      const u = (c - 65) >>> 0 < 26 ? 0x20 : 0;
      upper |= u;
      h = step(h, c | u);
    }
    FOLDED_HASHES[k] = h;
  }
  // Past the longest bucket that fits only the check goes on.
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return -1;
    if (c >= 65 && c <= 90) upper = 1;
  }
  scannedUpper = upper !== 0;
  if (upper !== 0 && m !== 0) plan.hashPrefixes(s, NAME_HASHES);
  return k;
}

/** `plan.mayMatch` on the name's first two characters, ASCII-folded to lower case. */
function mayMatchName(s: string, n: number, plan: LengthPlan): boolean {
  const c0 = s.charCodeAt(0);
  const c1 = n > 1 ? s.charCodeAt(1) : -1;
  return plan.mayMatch(
    (c0 - 65) >>> 0 < 26 ? c0 | 0x20 : c0,
    (c1 - 65) >>> 0 < 26 ? c1 | 0x20 : c1 < 0 ? Number.NaN : c1,
  );
}

/**
 * Deny rules on a non-ASCII canonical name's look-alike skeletons (`confusableSkeletons`): the
 * decision of the first deny rule one of them hits, naming the look-alike, else undefined.
 * Only for names that are not plain ASCII (the slow path), after the name itself missed the
 * deny set. Allow rules are never asked about skeletons: a look-alike is not widened into an
 * allowed name.
 */
export function denyLookAlike(deny: PatternSet<Rule>, name: string): PolicyDecision | undefined {
  if (deny.size === 0) return undefined;
  for (const skeleton of confusableSkeletons(name)) {
    const r = deny.first(skeleton);
    if (r !== undefined) {
      return makeDecision(
        "deny",
        "deny_rule",
        `"${name}" looks like "${skeleton}" (confusable letters): denied by ${r.id} (${r.where})`,
        r,
      );
    }
  }
  return undefined;
}

type Entry = Record<string, unknown>;

/**
 * Compile `allow` / `deny` lists whose entries carry a name glob under `field`. `extend`
 * turns an allow entry into its rule (conditions, rate limits) or reports errors and returns
 * undefined.
 */
export function compileNamed<A extends Rule>(
  v: { allow?: readonly Entry[]; deny?: readonly Entry[] },
  field: string,
  ctx: CompileContext,
  path: Path,
  extend: (rule: Rule, entry: Entry, at: Path) => A | undefined,
): NamedRules<A> {
  const allow = new PatternSet<A>();
  const deny = new PatternSet<Rule>();
  // Deny rules judge non-ASCII names by their look-alikes: read the table now (once per
  // process), so the first such check does not pay for it.
  if ((v.deny?.length ?? 0) > 0) confusableTable();
  (v.deny ?? []).forEach((e, i) => {
    const at = [...path, "deny", i];
    const err = addNamePattern(deny, e[field] as string, ctx.rule(at, "deny"), { fold: true });
    if (err) ctx.error([...at, field], "policy_bad_pattern", err);
  });
  (v.allow ?? []).forEach((e, i) => {
    const at = [...path, "allow", i];
    const rule = extend(ctx.rule(at, "allow"), e, at);
    if (rule === undefined) return;
    const err = addNamePattern(allow, e[field] as string, rule);
    if (err) ctx.error([...at, field], "policy_bad_pattern", err);
  });
  const plan = lengthPlan(allow, deny);
  allow.build(plan);
  deny.build(plan);
  const a = allow.foldedPairs();
  const d = deny.foldedPairs();
  const pairs =
    a === null || d === null || plan.length < FILTER_FROM ? null : a.map((x, i) => x | d[i]!);
  return {
    allow,
    deny,
    plan: new LengthPlan(plan, pairs),
    memo: new Memo(),
    verdicts: new Interned(),
  };
}

/** Entries may be written as plain strings: `- HOME` means `- key: HOME`. */
export function entries(list: readonly unknown[] | undefined, field: string): Entry[] | undefined {
  return list?.map((e) => (typeof e === "string" ? { [field]: e } : (e as Entry)));
}
