import { canonicalPathOf, pathRefusal } from "../canon/path.js";
import { canonicalizeResourceUri, isFileScheme } from "../canon/url.js";
import type { CheckContext, CompileContext } from "../context.js";
import { Memo } from "../match/memo.js";
import { addNamePattern, addPathPattern } from "../match/names.js";
import { PatternSet } from "../match/pattern-set.js";
import { badAction, noRule, notCanonical, type Rule } from "../rule.js";
import { asList } from "../schema.js";
import type { Path } from "../source.js";
import type { PolicyDecision, RealPath } from "../types.js";

export const OPERATIONS = ["read", "list", "subscribe"] as const;
type Op = (typeof OPERATIONS)[number];

type Sets = Map<string, Record<Op, PatternSet<Rule>>>;

/** MCP resource rules: URI globs per scheme (`file:` URIs as canonical paths) and operation. */
export interface ResourceRules {
  readonly allow: Sets;
  readonly deny: Sets;
  /** Per operation, what raw URIs seen before came to (see `Memo`). */
  readonly memo: Readonly<Record<Op, Memo<ResourceVerdict | string>>>;
}

/** A raw URI's canonical form (as explanations show it) and the rules it hits, or why not. */
interface ResourceVerdict {
  readonly uri: string;
  readonly deny: Rule | undefined;
  readonly allow: Rule | undefined;
}

function setsFor(sets: Sets, scheme: string): Record<Op, PatternSet<Rule>> {
  let s = sets.get(scheme);
  if (!s)
    sets.set(
      scheme,
      (s = { read: new PatternSet(), list: new PatternSet(), subscribe: new PatternSet() }),
    );
  return s;
}

export function compileResources(value: unknown, ctx: CompileContext, path: Path): ResourceRules {
  const v = value as Record<
    "allow" | "deny",
    (string | { uri: string; operations?: Op | Op[] })[] | undefined
  >;
  const memo = () => new Memo<ResourceVerdict | string>();
  const memos = { read: memo(), list: memo(), subscribe: memo() };
  const out: ResourceRules = { allow: new Map(), deny: new Map(), memo: memos };
  for (const effect of ["deny", "allow"] as const) {
    (v[effect] ?? []).forEach((raw, i) => {
      const e = typeof raw === "string" ? { uri: raw } : raw;
      const at = [...path, effect, i];
      if (/(^|[/\\])\.\.([/\\]|$)/.test(e.uri)) {
        ctx.error([...at, "uri"], "policy_bad_pattern", `uri "${e.uri}" has a ".." segment`);
        return;
      }
      const c = canonicalizeResourceUri(e.uri);
      if (!c.ok) {
        ctx.error([...at, "uri"], "policy_bad_pattern", `uri "${e.uri}": ${c.reason}`);
        return;
      }
      const ops =
        e.operations === undefined
          ? effect === "deny"
            ? OPERATIONS
            : (["read", "list"] as const)
          : asList(e.operations);
      const rule = ctx.rule(at, effect);
      const sets = setsFor(out[effect], c.value.scheme);
      for (const op of new Set(ops)) {
        const err = isFileScheme(c.value.scheme)
          ? addPathPattern(sets[op], c.value.rest, rule, false)
          : addNamePattern(sets[op], c.value.rest, rule);
        if (err) ctx.error([...at, "uri"], "policy_bad_pattern", err);
      }
    });
  }
  for (const m of [out.allow, out.deny])
    for (const s of m.values()) for (const p of Object.values(s)) p.build();
  return out;
}

export function judgeResource(
  c: ResourceRules | undefined,
  kind: string,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
  op: Op,
): PolicyDecision {
  if (typeof a.uri !== "string") return badAction(kind, `"uri" must be a string`);
  let v: ResourceVerdict | string | undefined;
  if (c === undefined) {
    const u = canonicalizeResourceUri(a.uri);
    v = u.ok ? { uri: shown(u.value), deny: undefined, allow: undefined } : u.reason;
  } else if (ctx.realPath !== undefined && isFileUri(a.uri)) {
    v = resourceVerdict(c, a.uri, op, ctx.realPath); // not remembered: the file system changes
  } else {
    const memo = c.memo[op];
    v = memo.get(a.uri);
    if (v === undefined) memo.set(a.uri, (v = resourceVerdict(c, a.uri, op, undefined)));
  }
  if (typeof v === "string") return notCanonical(kind, v);
  if (ctx.explain) ctx.input = { kind, uri: v.uri };
  if (c === undefined) return noRule(kind);
  if (v.deny !== undefined) return v.deny.decision;
  return v.allow !== undefined
    ? v.allow.decision
    : noRule(kind, `no resource rule allows ${op} on this URI`);
}

function shown(u: { scheme: string; rest: string }): string {
  return `${u.scheme}:${isFileScheme(u.scheme) ? "//" : ""}${u.rest}`;
}

/**
 * `file:` or `<upstream>+file:`, in any case: the URIs whose path names a file (resolved with
 * `realPath`). A cheap look at the raw scheme; `isFileScheme` decides on the canonical one.
 */
function isFileUri(uri: string): boolean {
  const colon = uri.indexOf(":");
  if (colon < 4 || uri.slice(colon - 4, colon).toLowerCase() !== "file") return false;
  return colon === 4 || uri.charCodeAt(colon - 5) === 43;
}

function resourceVerdict(
  c: ResourceRules,
  raw: string,
  op: Op,
  real: RealPath | undefined,
): ResourceVerdict | string {
  const u = canonicalizeResourceUri(raw);
  if (!u.ok) return u.reason;
  const scheme = u.value.scheme;
  let rest = u.value.rest;
  if (real !== undefined && isFileScheme(scheme)) {
    const r = real(rest, raw);
    if (typeof r !== "string") return r.refused;
    const p = r === rest ? rest : canonicalPathOf(r, false);
    if (p === undefined) return `${raw.slice(0, 80)} resolves to ${r}: ${pathRefusal}`;
    rest = p;
  }
  const deny = c.deny.get(scheme)?.[op].first(rest);
  const allow = deny === undefined ? c.allow.get(scheme)?.[op].first(rest) : undefined;
  return { uri: shown({ scheme, rest }), deny, allow };
}
