import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import { compileNamed, entries, type NamedRules, nameVerdict } from "../match/named.js";
import type { PermissionType } from "../registry.js";
import { badAction, noRule, notCanonical, type Rule } from "../rule.js";
import type { PolicyDecision } from "../types.js";

const NO_ENV_RULE = noRule("env.read", "no environment rule allows this key");

function read(
  c: NamedRules<Rule>,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const key = a.key;
  if (typeof key !== "string") return badAction("env.read", `"key" must be a string`);
  const v = nameVerdict(c, key);
  if (typeof v === "string") return notCanonical("env.read", `key: ${v}`);
  if (ctx.explain) ctx.input = { kind: "env.read", key: v.name ?? key };
  return v.deny ?? v.first?.decision ?? NO_ENV_RULE;
}

export const environmentType: PermissionType<NamedRules<Rule>> = {
  key: "environment",
  description: "environment variables a guest may read, by key glob",
  schema: { $ref: shippedRef("policy", "#/definitions/environment") },
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
