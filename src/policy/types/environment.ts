import { canonicalizeName } from "../canon/name.js";
import type { CheckContext } from "../context.js";
import {
  compileNamed,
  denyLookAlike,
  entries,
  FOLDED_HASHES,
  NAME_HASHES,
  type NamedRules,
  scanName,
  scannedHadUpper,
} from "../match/named.js";
import type { PermissionType } from "../registry.js";
import { badAction, noRule, notCanonical, type Rule } from "../rule.js";
import { S } from "../schema.js";
import type { PolicyDecision } from "../types.js";

const NO_ENV_RULE = noRule("env.read", "no environment rule allows this key");

const entry = S.oneOf(S.str(), S.obj({ key: S.str() }, ["key"]));

function read(
  c: NamedRules<Rule>,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const key = a.key;
  if (typeof key !== "string") return badAction("env.read", `"key" must be a string`);
  const count = scanName(key, c.plan);
  if (count >= 0) {
    if (ctx.explain) ctx.input = { kind: "env.read", key };
    const d = c.deny.probe(scannedHadUpper() ? key.toLowerCase() : key, FOLDED_HASHES, count);
    if (d !== undefined) return d.decision;
    const r = c.allow.probe(key, scannedHadUpper() ? NAME_HASHES : FOLDED_HASHES, count);
    return r !== undefined ? r.decision : NO_ENV_RULE;
  }
  const k = canonicalizeName(key);
  if (!k.ok) return notCanonical("env.read", `key: ${k.reason}`);
  if (ctx.explain) ctx.input = { kind: "env.read", key: k.value };
  const d = c.deny.first(k.value.toLowerCase());
  if (d !== undefined) return d.decision;
  const lookAlike = denyLookAlike(c.deny, k.value);
  if (lookAlike !== undefined) return lookAlike;
  const r = c.allow.first(k.value);
  return r !== undefined ? r.decision : NO_ENV_RULE;
}

export const environmentType: PermissionType<NamedRules<Rule>> = {
  key: "environment",
  description: "environment variables a guest may read, by key glob",
  schema: S.obj({ allow: S.arr(entry), deny: S.arr(entry) }),
  compile(value, ctx, path) {
    const v = value as { allow?: unknown[]; deny?: unknown[] };
    const list = { allow: entries(v.allow, "key"), deny: entries(v.deny, "key") };
    return compileNamed(
      { ...(list.allow ? { allow: list.allow } : {}), ...(list.deny ? { deny: list.deny } : {}) },
      "key",
      ctx,
      path,
      (r) => r,
    );
  },
  match: { "env.read": read },
};
