import { canonicalizeName, isPlainName } from "../canon/name.js";
import type { CheckContext, CompileContext } from "../context.js";
import { Memo } from "../match/memo.js";
import {
  compileNamed,
  entries,
  type NamedRules,
  type NameVerdict,
  nameVerdict,
} from "../match/named.js";
import type { RuleLimiter } from "../rate-limit.js";
import {
  badAction,
  conditionFailed,
  makeDecision,
  noRule,
  noRuleTable,
  notCanonical,
  type Rule,
} from "../rule.js";
import type { Path } from "../source.js";
import type { PolicyDecision } from "../types.js";
import {
  type Callers,
  callersMatch,
  compileCallers,
  notAmong,
  type Who,
  whoOf,
} from "./callers.js";
import { canonicalArgs, checkParams, compileParams, type ParamCheck } from "./params.js";

/** An allow rule on tools or prompts, with its conditions. */
export interface NameRule extends Rule {
  readonly params: readonly ParamCheck[] | null;
  readonly limiter: RuleLimiter | null;
  /** Prompts: maximum total length of the string arguments. */
  readonly maxLength: number;
  /** `callers`: who the rule allows (null: every caller). */
  readonly callers: Callers | null;
  /** No conditions: the name match alone decides. */
  readonly plain: boolean;
}

const NO_NAME_RULE = noRuleTable("no rule allows this name", [
  "tool.call",
  "tool.list",
  "prompt.get",
  "prompt.list",
]);

export const MAX_CALLS_PER_MINUTE = 100_000;

/**
 * Callers' canonical forms (a gateway names the same client on every call); canonicalizing
 * does not depend on the policy, so one memo serves every compiled policy.
 */
const CALLERS = new Memo<ReturnType<typeof canonicalizeName>>();

export function compileNameRules(
  value: unknown,
  ctx: CompileContext,
  path: Path,
): NamedRules<NameRule> {
  const v = value as { allow?: unknown[]; deny?: unknown[] };
  const list: { allow?: Record<string, unknown>[]; deny?: Record<string, unknown>[] } = {};
  const allow = entries(v.allow, "name");
  const deny = entries(v.deny, "name");
  if (allow) list.allow = allow;
  if (deny) list.deny = deny;
  return compileNamed<NameRule>(list, "name", ctx, path, (rule, e, at) => {
    const params =
      e.parameters === undefined
        ? null
        : compileParams(e.parameters as Record<string, unknown>, ctx, [...at, "parameters"]);
    if (params === undefined) return undefined;
    const perMinute = e.max_calls_per_minute as number | undefined;
    const maxLength = (e.max_length as number | undefined) ?? -1;
    const callers = compileCallers(e.callers);
    return Object.freeze({
      ...rule,
      params,
      limiter: perMinute === undefined ? null : ctx.limiter(rule, e, perMinute),
      maxLength,
      callers,
      plain: params === null && perMinute === undefined && maxLength < 0 && callers === null,
    });
  });
}

function totalLength(args: unknown): number {
  let n = 0;
  if (args !== null && typeof args === "object") {
    for (const v of Object.values(args)) if (typeof v === "string") n += v.length;
  }
  return n;
}

/** Try one allow rule's conditions; a decision when it fails, undefined when it holds. */
function tryRule(
  r: NameRule,
  name: string,
  args: unknown,
  who: Who,
  ctx: CheckContext,
): PolicyDecision | undefined {
  if (r.callers !== null && !callersMatch(r.callers, who))
    return conditionFailed(r, notAmong(r.callers, who));
  const caller = who.caller;
  if (r.params !== null) {
    const why = checkParams(r.params, args, ctx.realPath);
    if (why !== undefined) return conditionFailed(r, why);
  }
  if (r.maxLength >= 0) {
    const n = totalLength(args);
    if (n > r.maxLength)
      return conditionFailed(
        r,
        `arguments are ${n} characters long, over max_length ${r.maxLength}`,
      );
  }
  if (r.limiter === null) return undefined;
  const deferred = ctx.limits;
  if (deferred !== undefined) {
    // the host takes the call from a shared window (CheckOptions.limits)
    if (!deferred.exhausted.has(r.limiter)) {
      deferred.pending = { limiter: r.limiter, tool: name, caller };
      return undefined;
    }
  } else if (r.limiter.take(name, caller, Number.isNaN(ctx.now) ? Date.now() : ctx.now)) {
    return undefined;
  }
  return makeDecision(
    "deny",
    "rate_limited",
    `"${name}" called over ${r.limiter.perMinute} times in 60 s by ${caller === "" ? "an anonymous caller" : `"${caller}"`} (rule ${r.id} at ${r.where})`,
    r,
  );
}

/**
 * Judge a tool call or prompt get: deny rules first (on the lower-cased name and, for a
 * non-ASCII name, on its look-alike skeletons), then allow rules in source order (on the exact
 * name), the first whose conditions hold deciding. `visibility` (the list kinds)
 * only asks whether some allow rule names it: no conditions, no token taken.
 */
export function judgeName(
  c: NamedRules<NameRule> | undefined,
  kind: string,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
  visibility: boolean,
): PolicyDecision {
  const raw = a.name;
  if (typeof raw !== "string") return badAction(kind, `"name" must be a string`);
  let name = raw;
  let v: NameVerdict<NameRule> | undefined;
  if (c !== undefined) {
    const found = nameVerdict(c, raw);
    if (typeof found === "string") return notCanonical(kind, found);
    v = found;
    name = found.name ?? raw;
  } else if (!isPlainName(raw)) {
    const n = canonicalizeName(raw);
    if (!n.ok) return notCanonical(kind, n.reason);
    name = n.value;
  }
  const args = a.arguments;
  if (
    !visibility &&
    args !== undefined &&
    (args === null || typeof args !== "object" || Array.isArray(args))
  ) {
    return badAction(kind, `"arguments" must be an object`);
  }
  let caller = "";
  const rawCaller = a.caller;
  if (rawCaller !== undefined) {
    if (typeof rawCaller !== "string") return badAction(kind, `"caller" must be a string`);
    let cc = CALLERS.get(rawCaller);
    if (cc === undefined) CALLERS.set(rawCaller, (cc = canonicalizeName(rawCaller)));
    if (!cc.ok) return notCanonical(kind, `caller: ${cc.reason}`);
    caller = cc.value;
  }
  let user = caller;
  const rawUser = a.user;
  if (rawUser !== undefined) {
    if (typeof rawUser !== "string") return badAction(kind, `"user" must be a string`);
    let cu = CALLERS.get(rawUser);
    if (cu === undefined) CALLERS.set(rawUser, (cu = canonicalizeName(rawUser)));
    if (!cu.ok) return notCanonical(kind, `user: ${cu.reason}`);
    user = cu.value;
  }
  const who = whoOf(caller, a, user);
  if (typeof who === "string") return badAction(kind, who);
  if (ctx.explain) {
    const id = {
      ...(caller ? { caller } : {}),
      ...(user !== caller ? { user } : {}),
      ...(who.groups.length > 0 ? { groups: who.groups } : {}),
      ...(who.scopes.length > 0 ? { scopes: who.scopes } : {}),
    };
    ctx.input = visibility ? { kind, name, ...id } : { kind, name, arguments: args ?? {}, ...id };
  }
  if (c === undefined || v === undefined) return noRule(kind);
  if (v.deny !== undefined) return v.deny;
  const first = v.first;
  if (first === undefined) return NO_NAME_RULE[kind] ?? noRule(kind, "no rule allows this name");
  if (first.plain) return first.decision;
  if (visibility) return visible(c, first, name, who);
  const failed = tryRule(first, name, args, who, ctx);
  if (failed === undefined) return explained(ctx, first, first.decision);
  for (const r of c.allow.all(name)) {
    if (r === first) continue;
    const d = r.plain ? undefined : tryRule(r, name, args, who, ctx);
    if (d === undefined) return explained(ctx, r, r.decision);
  }
  return explained(ctx, first, failed);
}

/**
 * May `who` see `name` in a list? The first allow rule whose callers include it (conditions
 * other than callers are judged at the call, not in the list).
 */
function visible(c: NamedRules<NameRule>, first: NameRule, name: string, who: Who): PolicyDecision {
  if (first.callers === null || callersMatch(first.callers, who)) return first.decision;
  for (const r of c.allow.all(name))
    if (r.callers === null || callersMatch(r.callers, who)) return r.decision;
  return conditionFailed(first, notAmong(first.callers, who));
}

/**
 * With `explain`, the arguments in `explanation.input` are shown as the deciding rule judged
 * them: the paths its constraints name, canonical (docs/policy.md, "Decisions").
 */
function explained(ctx: CheckContext, r: NameRule, d: PolicyDecision): PolicyDecision {
  if (ctx.explain && r.params !== null) {
    const input = ctx.input as Record<string, unknown>;
    ctx.input = { ...input, arguments: canonicalArgs(r.params, input.arguments) };
  }
  return d;
}
