import { canonicalizePath, type PathOptions } from "../canon/path.js";
import type { CheckContext, CompileContext } from "../context.js";
import { addPathPattern } from "../match/names.js";
import { PatternSet } from "../match/pattern-set.js";
import type { PermissionType } from "../registry.js";
import { badAction, noRuleTable, notCanonical, type Rule } from "../rule.js";
import { asList, S } from "../schema.js";
import type { Path } from "../source.js";
import type { PolicyDecision } from "../types.js";

export const ACCESS = ["read", "write"] as const;
type Access = (typeof ACCESS)[number];

const entry = S.obj({ uri: S.str(), access: S.strs(...ACCESS) }, ["uri"]);

export interface StorageCompiled {
  readonly caseInsensitive: boolean;
  readonly allow: Readonly<Record<Access, PatternSet<Rule>>>;
  readonly deny: Readonly<Record<Access, PatternSet<Rule>>>;
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
  for (const s of [out.allow.read, out.allow.write, out.deny.read, out.deny.write]) s.build();
  return out;
}

const NO_STORAGE_RULE = noRuleTable("no storage rule allows it", ["storage.read", "storage.write"]);
const CASE_INSENSITIVE: PathOptions = Object.freeze({ caseInsensitive: true });
const CASE_SENSITIVE: PathOptions = Object.freeze({ caseInsensitive: false });

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
  const p = canonicalizePath(uri, c.caseInsensitive ? CASE_INSENSITIVE : CASE_SENSITIVE);
  if (!p.ok) return notCanonical(kind, p.reason);
  if (ctx.explain) ctx.input = { kind, uri: p.value };
  const deny = c.deny[access].first(p.value);
  if (deny !== undefined) return deny.decision;
  const allow = c.allow[access].first(p.value);
  return allow !== undefined ? allow.decision : NO_STORAGE_RULE[kind]!;
}

export const storageType: PermissionType<StorageCompiled> = {
  key: "storage",
  description: "file system access by path glob (read, write)",
  schema: S.obj({ allow: S.arr(entry), deny: S.arr(entry), case_insensitive: S.bool() }),
  compile: compileStorage,
  match: {
    "storage.read": (c, a, ctx) => judge(c, a, ctx, "read"),
    "storage.write": (c, a, ctx) => judge(c, a, ctx, "write"),
  },
};
