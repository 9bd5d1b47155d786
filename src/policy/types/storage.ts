import {
  canonicalizePath,
  canonicalPathCodes,
  canonicalPathOf,
  PATH_CODES,
  pathRefusal,
} from "../canon/path.js";
import type { CheckContext, CompileContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import { Memo } from "../match/memo.js";
import { addPathPattern } from "../match/names.js";
import { AFFIX_HASHES, LengthPlan, lengthPlan, PatternSet } from "../match/pattern-set.js";
import type { PermissionType } from "../registry.js";
import { badAction, noRule, noRuleTable, notCanonical, type Rule } from "../rule.js";
import { asList } from "../schema.js";
import type { Path } from "../source.js";
import type { PolicyDecision, RealPath } from "../types.js";

export const ACCESS = ["read", "write"] as const;
type Access = (typeof ACCESS)[number];

export interface StorageCompiled {
  readonly caseInsensitive: boolean;
  readonly allow: Readonly<Record<Access, PatternSet<Rule>>>;
  readonly deny: Readonly<Record<Access, PatternSet<Rule>>>;
  /** Per access, the bucket lengths of its deny and allow sets: one hash pass for both. */
  readonly plans: Readonly<Record<Access, LengthPlan>>;
  /** Per access, what raw inputs seen before came to (see `Memo`). */
  readonly memo: Readonly<Record<Access, Memo<Judged>>>;
}

/** The decision on a raw input, and its canonical path when it was built (for `explain`). */
interface Judged {
  readonly decision: PolicyDecision;
  /** Undefined when refused, or when the plain lane judged it without building the string. */
  readonly path: string | undefined;
  readonly refused: boolean;
}

/** Canonicalize a path pattern for compiling: same steps as inputs, `..` refused. */
export function pathPattern(
  raw: string,
  caseInsensitive: boolean,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (/(^|[/\\])\.\.([/\\]|$)/.test(raw))
    return { ok: false, reason: `pattern "${raw}" has a ".." segment` };
  return canonicalizePath(raw, { caseInsensitive });
}

function compileStorage(value: unknown, ctx: CompileContext, path: Path): StorageCompiled {
  const v = value as {
    allow?: { uri: string; access?: Access | Access[] }[];
    deny?: { uri: string; access?: Access | Access[] }[];
    case_insensitive?: boolean;
  };
  const ci = v.case_insensitive === true;
  const sets = () => ({ read: new PatternSet<Rule>(), write: new PatternSet<Rule>() });
  const out = { caseInsensitive: ci, allow: sets(), deny: sets() };
  for (const effect of ["deny", "allow"] as const) {
    (v[effect] ?? []).forEach((e, i) => {
      const at = [...path, effect, i];
      let access = asList(e.access);
      if (access.length === 0) {
        if (effect === "allow") {
          ctx.error(
            at,
            "policy_missing_key",
            `${effect} rule needs "access" (read, write, or both)`,
          );
          return;
        }
        access = ACCESS;
      }
      const p = pathPattern(e.uri, ci);
      if (!p.ok) {
        ctx.error([...at, "uri"], "policy_bad_pattern", p.reason);
        return;
      }
      const rule = ctx.rule(at, effect);
      for (const a of new Set(access)) {
        const err = addPathPattern(out[effect][a], p.value, rule, ci);
        if (err) ctx.error([...at, "uri"], "policy_bad_pattern", err);
      }
    });
  }
  const plans = {} as Record<Access, LengthPlan>;
  for (const a of ACCESS) {
    const plan = lengthPlan(out.deny[a], out.allow[a]);
    out.deny[a].build(plan);
    out.allow[a].build(plan);
    plans[a] = new LengthPlan(plan);
  }
  return { ...out, plans, memo: { read: new Memo(), write: new Memo() } };
}

const NO_STORAGE_RULE = noRuleTable("no storage rule allows it", ["storage.read", "storage.write"]);
function judge(
  c: StorageCompiled,
  action: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
  access: Access,
): PolicyDecision {
  const kind = access === "read" ? "storage.read" : "storage.write";
  const uri = action.uri;
  if (typeof uri !== "string")
    return badAction(kind, `"uri" must be a string (a path or fs:// URI)`);
  let j: Judged | undefined;
  if (ctx.realPath !== undefined) j = judgeReal(c, kind, access, uri, ctx.realPath);
  else {
    const memo = c.memo[access];
    j = memo.get(uri);
    if (j === undefined) memo.set(uri, (j = judgeUri(c, kind, access, uri)));
  }
  if (ctx.explain && !j.refused) {
    ctx.input = { kind, uri: j.path ?? canonicalPathOf(uri, c.caseInsensitive) };
  }
  return j.decision;
}

/**
 * Judge the file the host would open: the canonical path resolved through its file system
 * (`CheckOptions.realPath`). Not remembered: the file system changes between calls.
 */
function judgeReal(
  c: StorageCompiled,
  kind: "storage.read" | "storage.write",
  access: Access,
  uri: string,
  real: RealPath,
): Judged {
  // Resolved as written (the file system decides case), lower-cased after when the rules say so.
  const p = canonicalPathOf(uri, false);
  if (p === undefined)
    return { decision: notCanonical(kind, pathRefusal), path: undefined, refused: true };
  const r = real(p, uri);
  if (typeof r !== "string")
    return { decision: notCanonical(kind, r.refused), path: undefined, refused: true };
  return judgeUri(c, kind, access, r);
}

/** Canonicalize a raw URI and judge it (what `judge` remembers). */
function judgeUri(
  c: StorageCompiled,
  kind: "storage.read" | "storage.write",
  access: Access,
  uri: string,
): Judged {
  let p: string | undefined = uri;
  // Plain ASCII paths to resolve are judged on code units, without building their string.
  const n = c.caseInsensitive ? -1 : canonicalPathCodes(uri);
  if (n >= 0) {
    const d = judgeCodes(c, kind, access, n);
    if (d !== undefined) return { decision: d, path: undefined, refused: false };
  }
  if (n !== -2) p = canonicalPathOf(uri, c.caseInsensitive);
  if (p === undefined) {
    return { decision: notCanonical(kind, pathRefusal), path: undefined, refused: true };
  }
  // One pass hashes the path's prefixes for both sets.
  const count = c.plans[access].hashPrefixes(p, AFFIX_HASHES);
  const deny = c.deny[access].probe(p, AFFIX_HASHES, count);
  const allow = deny === undefined ? c.allow[access].probe(p, AFFIX_HASHES, count) : undefined;
  const decision = deny?.decision ?? allow?.decision ?? NO_STORAGE_RULE[kind]!;
  return { decision, path: p, refused: false };
}

/** `judge` on the canonical path in `PATH_CODES[0..n)`; undefined when it needs the string. */
function judgeCodes(
  c: StorageCompiled,
  kind: "storage.read" | "storage.write",
  access: Access,
  n: number,
): PolicyDecision | undefined {
  const count = c.plans[access].hashCodes(PATH_CODES, n, AFFIX_HASHES);
  const deny = c.deny[access].probeCodes(PATH_CODES, n, AFFIX_HASHES, count);
  if (deny === null) return undefined;
  if (deny !== undefined) return deny.decision;
  const allow = c.allow[access].probeCodes(PATH_CODES, n, AFFIX_HASHES, count);
  if (allow === null) return undefined;
  return allow !== undefined ? allow.decision : NO_STORAGE_RULE[kind]!;
}

/**
 * Does the policy allow `access` to every path under the directory `dir` (a canonical real
 * path) and to `dir` itself? For a grant of a whole tree at once (a WASI preopen: the module
 * opens what it likes under it, unseen): allowed only when no deny rule may match anything there
 * and an allow rule covers all of it (`/**`, or a `/a/**` at or above `dir`). Conservative: a
 * deny glob whose literal prefix meets the tree counts, even if it matches no file there.
 */
export function judgeTree(c: StorageCompiled, access: Access, dir: string): PolicyDecision {
  const kind = access === "read" ? "storage.read" : "storage.write";
  const d = c.caseInsensitive ? dir.toLowerCase() : dir;
  const deny = c.deny[access].mayMatchUnder(d);
  if (deny !== undefined) return deny.decision;
  const allow = c.allow[access].coversTree(d);
  return allow?.decision ?? noRule(kind, `no storage rule allows all of the tree ${dir}`);
}

export const storageType: PermissionType<StorageCompiled> = {
  key: "storage",
  description: "file system access by path glob (read, write)",
  schema: { $ref: shippedRef("policy", "#/definitions/storage") },
  compile: compileStorage,
  match: {
    "storage.read": (c, a, ctx) => judge(c, a, ctx, "read"),
    "storage.write": (c, a, ctx) => judge(c, a, ctx, "write"),
  },
};
