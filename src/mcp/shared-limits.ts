/**
 * Rate limits shared between gateways (`state.redis`): the policy, kept free of Redis, allows a
 * rate-limited call subject to its rule's window (`CheckOptions.limits`); this strategy, right
 * after the policy in the tools/call and request chains, takes one call from that window in
 * Redis (src/state/limits.ts) before the call goes on.
 *
 * - Window full: the rule counts as used up and the policy judges again, so the next allow rule
 *   may still allow (as with in-memory windows); the decision is the policy's `rate_limited`.
 * - Redis cannot say (down, timed out, a strange answer): the call is refused with
 *   `state_unavailable`, naming the Redis URL without its password (fail closed); the refusal
 *   is audited like any denial. Calls under no rate limit never reach Redis.
 */
import type { Decision } from "../core/decision.js";
import type { WardenError } from "../core/errors.js";
import {
  allowHint,
  type CheckOptions,
  type CompiledPolicy,
  type DeferredLimits,
  type PolicyDecision,
  toCoreDecision,
} from "../policy/index.js";
import { RedisLimiter, type RedisState } from "../state/index.js";
import type { GatewayCallMeta, GatewayStrategy } from "./judges.js";
import type { PolicyAction } from "./policy-adapter.js";

/** The shared windows, as the gateway gives them (a RedisLimiter and its connection). */
export interface SharedWindows {
  take(
    rule: string,
    perMinute: number,
    tool: string,
    caller: string,
  ): Promise<{ readonly allowed: boolean }>;
  /** The `state_unavailable` error for a refused call. */
  unavailable(what: string, cause?: unknown): WardenError;
}

/** What the policy strategy leaves for this one: the check to take and, if full, redo. */
export interface SharedLimitCheck {
  readonly policy: CompiledPolicy;
  readonly action: PolicyAction;
  readonly opts: CheckOptions;
  readonly limits: DeferredLimits;
}

/** The strategy's name: a refusal for want of Redis is `by: "state"` (code state_unavailable). */
export const STATE_JUDGE = "state";

export function sharedLimitStrategy(windows: SharedWindows): GatewayStrategy {
  return {
    name: STATE_JUDGE,
    priority: Number.NEGATIVE_INFINITY, // right after the policy (same priority, given after it)
    async beforeCallAsync(call): Promise<Decision | undefined> {
      const meta = call.meta as GatewayCallMeta;
      const s = meta.sharedLimit;
      if (s === undefined) return undefined;
      meta.sharedLimit = undefined;
      // at most one try per rate-limited rule of the policy (each full one is then exhausted)
      for (;;) {
        const pending = s.limits.pending;
        if (pending === undefined) return undefined;
        const { limiter, tool, caller } = pending;
        let allowed: boolean;
        try {
          allowed = (await windows.take(limiter.key, limiter.perMinute, tool, caller)).allowed;
        } catch (e) {
          const err = windows.unavailable(`"${tool}", under a rate limit,`, e);
          return {
            verdict: "block",
            by: STATE_JUDGE,
            reason: err.message,
            details: { code: "state_unavailable" },
          };
        }
        if (allowed) return undefined;
        s.limits.exhausted.add(limiter);
        s.limits.pending = undefined;
        const v: PolicyDecision = s.policy.check(s.action, s.opts);
        meta.policy = v;
        if (!v.allowed) return toCoreDecision(v, allowHint(s.policy, s.action, v, s.opts));
      }
    },
  };
}

/** The shared windows of a gateway's Redis connection. */
export function redisWindows(state: RedisState): SharedWindows {
  const limiter = new RedisLimiter(state);
  return {
    take: (rule, perMinute, tool, caller) => limiter.take(rule, perMinute, tool, caller),
    unavailable: (what, cause) => state.unavailable(what, cause, "rate_limit"),
  };
}
