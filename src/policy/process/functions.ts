/**
 * `nodejs` and `python`: functions a traced runtime may call. Actions `nodejs.call` and
 * `python.call`: `{ name, args? }`, `name` as the runtime names it (`child_process.exec`,
 * `os.system`), `args` the arguments as strings (for constrained rules, `{ "eval": ["*"] }`).
 * What no rule names is allowed by default (the effect it leads to, a command, a file, a
 * connection, is judged by its own section); `default: deny` makes a section an allowlist.
 * `namedFunctions` tells an agent which functions to hook.
 */
import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import type { CompiledPolicy } from "../policy.js";
import type { PermissionType } from "../registry.js";
import { badAction, notCanonical } from "../rule.js";
import type { PolicyDecision } from "../types.js";
import { bestRule, compileModes, type ModeSection } from "./modes.js";

const BAD = /[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function judge(kind: string) {
  return (
    c: ModeSection,
    a: Readonly<Record<string, unknown>>,
    ctx: CheckContext,
  ): PolicyDecision => {
    const name = a.name;
    if (typeof name !== "string" || name === "")
      return badAction(kind, `"name" must be the function's name, like child_process.exec`);
    if (BAD.test(name))
      return notCanonical(kind, "the function name has whitespace or invisible characters");
    const args = a.args;
    if (args !== undefined && (!Array.isArray(args) || args.some((x) => typeof x !== "string")))
      return badAction(kind, `"args" must be a list of strings`);
    if (ctx.explain) ctx.input = args === undefined ? { kind, name } : { kind, name, args };
    return bestRule(c, name, args as string[] | undefined)?.decision ?? c.fallback;
  };
}

function runtimeType(key: "nodejs" | "python"): PermissionType<ModeSection> {
  const kind = `${key}.call`;
  return {
    key,
    description: `${key === "nodejs" ? "Node.js" : "Python"} functions a traced process may call (patterns with modes)`,
    schema: { $ref: shippedRef("policy", `#/definitions/${key}`) },
    compile: (value, ctx, path) =>
      compileModes(
        value as Record<string, unknown>,
        ctx,
        path,
        { label: key, fallback: "allow" },
        ctx.has(path),
      ),
    match: { [kind]: judge(kind) },
  };
}

export const nodejsType = runtimeType("nodejs");
export const pythonType = runtimeType("python");

/**
 * The function patterns a policy names for a runtime (`eval`, `child_process.*`,
 * `regex:...`): what its agent must hook so that each is judged. Empty when the section is
 * absent.
 */
export function namedFunctions(
  policy: CompiledPolicy,
  runtime: "nodejs" | "python",
): readonly string[] {
  const c = policy.sections.get(runtime) as ModeSection | undefined;
  return c === undefined ? [] : c.rules.map((r) => r.pattern.source);
}
