import type { CompileContext } from "../context.js";
import type { Rule } from "../rule.js";
import type { Path } from "../source.js";
import { addNamePattern } from "./names.js";
import { PatternSet } from "./pattern-set.js";

/** Allow and deny rules over names (tools, prompts, environment keys). */
export interface NamedRules<A extends Rule> {
  readonly allow: PatternSet<A>;
  /** Folded to lower case: a deny matches whatever the case. */
  readonly deny: PatternSet<Rule>;
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
  return { allow: allow.build(), deny: deny.build() };
}

/** Entries may be written as plain strings: `- HOME` means `- key: HOME`. */
export function entries(list: readonly unknown[] | undefined, field: string): Entry[] | undefined {
  return list?.map((e) => (typeof e === "string" ? { [field]: e } : (e as Entry)));
}
