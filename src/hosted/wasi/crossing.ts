/**
 * Each WASI host call is a crossing (seed 000's sense: between a component and the host): it is
 * made a core `Call` (source: the component, target: the WASI interface, function: the host
 * function, args: the policy action) and run through one core `Chain`: the policy strategy
 * first (every policy the host holds must allow), then the strategies the embedder adds
 * (firewall, logging...), then statistics (per-host-function counts and latencies). A refusal
 * never reaches the real host function: the component gets the WASI error its interface
 * defines, and an event (events.ts) names the rule that decided and what to add.
 */
import { type Call, makeCall } from "../../core/call.js";
import { Chain } from "../../core/chain.js";
import { type Decision, rank } from "../../core/decision.js";
import { StatisticsStrategy } from "../../core/strategies/statistics.js";
import type { Strategy } from "../../core/strategy.js";
import { toCoreDecision } from "../../policy/core-decision.js";
import { allowHint } from "../../policy/hints.js";
import type { Action, PolicyDecision } from "../../policy/types.js";
import { describeDenial } from "../host-seam.js";
import { type EmitHostEvent, targetOf, type WasiCallEvent } from "./events.js";
import type { HostPolicy } from "./policies.js";

/** What the host keeps on its calls (`call.meta`). */
export interface WasiCallMeta {
  /** The deciding policy decision (the first refusal, or the last policy's allow). */
  decision?: PolicyDecision;
  /** The deciding rule's `file:line` in the file the user wrote (a mapped Wassette file). */
  rule?: string;
  hint?: string;
  /** The action as judged: the canonical, resolved path or host. */
  judged?: unknown;
}

/**
 * A refusal as jco hands it to the component: `payload` is the WASI error value (`"access"`,
 * `{ tag: "HTTP-request-denied" }`, `"access-denied"`); the message says what was refused and
 * what to add, for the embedder's logs (the component sees only the error code).
 */
export class WasiDenied extends Error {
  readonly payload: unknown;
  readonly event: WasiCallEvent;
  constructor(payload: unknown, event: WasiCallEvent) {
    super(describeDenial(event));
    this.name = "WasiDenied";
    this.payload = payload;
    this.event = event;
  }
}

/** One line: what was refused, the rule, and what to add (the seam's wording). */
export { describeDenial };

const REVIEW_RANK = rank("review");
const NO_POLICY: PolicyDecision = Object.freeze({
  allowed: false,
  effect: "deny",
  code: "no_rule",
  reason: "the WASI host holds no policy (default deny)",
});

/** The policy strategy of the host's chain: every policy must allow the call's action. */
class PolicyStrategy implements Strategy<WasiCallMeta> {
  readonly name = "policy";
  readonly priority = -1000;
  constructor(private readonly policies: readonly HostPolicy[]) {}

  beforeCall(call: Call<WasiCallMeta>): Decision | undefined {
    const action = call.args as Action | undefined;
    if (action === undefined) return undefined; // no capability asked (clocks, random, streams)
    const meta = call.meta!;
    if (this.policies.length === 0) {
      meta.decision = NO_POLICY;
      return toCoreDecision(NO_POLICY);
    }
    for (const p of this.policies) {
      const d = p.policy.check(action);
      meta.decision = d;
      meta.rule = d.ruleId !== undefined ? (p.locations?.get(d.ruleId) ?? d.rule) : d.rule;
      if (!d.allowed) {
        const hint = allowHint(p.policy, action, d);
        if (hint !== undefined) meta.hint = hint;
        const core = toCoreDecision(d, hint);
        return meta.rule !== d.rule ? { ...core, rule: meta.rule } : core;
      }
    }
    return undefined;
  }
}

export interface CrossingOptions {
  /** Strategies to run after the policy (a core firewall, logging...), on `Call<WasiCallMeta>`. */
  readonly strategies?: readonly Strategy<WasiCallMeta>[];
  readonly emit?: EmitHostEvent;
  /** Also emit an event for every allowed call (default: refusals only; counts are in `metrics`). */
  readonly emitAllowed?: boolean;
}

/** Per host function: refusals (allowed calls are in the statistics strategy). */
export interface HostFunctionMetrics {
  readonly interface: string;
  readonly function: string;
  readonly calls: number;
  readonly denied: number;
  readonly errors: number;
  readonly p50_ms?: number;
  readonly p99_ms?: number;
}

export class Crossings {
  readonly chain: Chain<WasiCallMeta>;
  readonly statistics = new StatisticsStrategy({}, "statistics");
  readonly #denied = new Map<string, number>();
  readonly #emit: EmitHostEvent | undefined;
  readonly #emitAllowed: boolean;
  /** Refusals since the last `takeDenials` (bounded). */
  #denials: WasiCallEvent[] = [];

  constructor(
    readonly component: string,
    readonly policies: readonly HostPolicy[],
    opts: CrossingOptions = {},
  ) {
    // Last before the target (so it times the host function itself), first after it.
    const s = this.statistics;
    const stats: Strategy<WasiCallMeta> = {
      name: s.name,
      priority: 1000,
      beforeCall: (call) => s.beforeCall?.(call),
      afterCall: (call) => s.afterCall(call),
    };
    this.chain = new Chain<WasiCallMeta>(`wasi:${component}`, [
      new PolicyStrategy(policies),
      ...(opts.strategies ?? []),
      stats,
    ]);
    this.#emit = opts.emit;
    this.#emitAllowed = opts.emitAllowed === true;
  }

  /**
   * Run one host call: judge `action` (undefined: nothing to ask the policy), then `target`
   * unless refused. A refusal throws `WasiDenied` carrying `denied` (the interface's WASI
   * error) after emitting its event; the target's own errors pass through unchanged.
   */
  run<T>(
    iface: string,
    fn: string,
    action: Action | undefined,
    denied: unknown,
    target: () => T,
  ): T {
    const meta: WasiCallMeta = {};
    const call = makeCall<WasiCallMeta>(this.component, iface, fn, action, meta);
    const t0 = performance.now();
    const d = this.chain.invoke(call, target as (args: unknown) => unknown);
    if (rank(d.verdict) >= REVIEW_RANK) throw this.#refuse(call, d, denied, t0);
    if (this.#emitAllowed && action !== undefined && this.#emit !== undefined)
      this.#emit(this.#event(call, d, undefined, t0));
    return call.result as T;
  }

  /**
   * A refusal decided outside the chain, with the same event: by the host itself (an escape no
   * policy could allow; `policy` undefined), or by a policy decision the host asked for
   * (a resolved address), which names its rule and hint.
   */
  refuse(
    iface: string,
    fn: string,
    action: Action | undefined,
    reason: string,
    denied: unknown,
    policy?: { readonly decision: PolicyDecision; readonly hint?: string; readonly rule?: string },
  ): WasiDenied {
    const meta: WasiCallMeta = {};
    let d: Decision = Object.freeze({ verdict: "block", reason, by: "host" }) as Decision;
    if (policy !== undefined) {
      meta.decision = policy.decision;
      meta.rule = policy.rule ?? policy.decision.rule;
      if (policy.hint !== undefined) meta.hint = policy.hint;
      d = Object.freeze({ verdict: "block", reason, by: "policy" }) as Decision;
    }
    const call = makeCall<WasiCallMeta>(this.component, iface, fn, action, meta);
    return this.#refuse(call, d, denied, performance.now());
  }

  /** Emit an event the host made itself (an environment listing that hid keys). */
  note(ev: WasiCallEvent): void {
    if (ev.decision === "deny" || ev.hidden !== undefined) {
      if (this.#denials.length < 100) this.#denials.push(ev);
    }
    this.#emit?.(ev);
  }

  /** Ask every policy; the first refusal (with its hint and located rule), or the last allow. */
  judge(action: Action): { decision: PolicyDecision; hint?: string; rule?: string } {
    let out: { decision: PolicyDecision; hint?: string; rule?: string } | undefined;
    for (const p of this.policies) {
      const decision = p.policy.check(action);
      const rule =
        decision.ruleId !== undefined
          ? (p.locations?.get(decision.ruleId) ?? decision.rule)
          : decision.rule;
      out = rule === undefined ? { decision } : { decision, rule };
      if (!decision.allowed) {
        const hint = allowHint(p.policy, action, decision);
        if (hint !== undefined) out.hint = hint;
        return out;
      }
    }
    return out ?? { decision: NO_POLICY };
  }

  #refuse(call: Call<WasiCallMeta>, d: Decision, denied: unknown, t0: number): WasiDenied {
    const key = `${call.target}\u0000${call.function}`;
    this.#denied.set(key, (this.#denied.get(key) ?? 0) + 1);
    const ev = this.#event(call, d, denied, t0);
    if (this.#denials.length < 100) this.#denials.push(ev);
    this.#emit?.(ev);
    return new WasiDenied(denied, ev);
  }

  #event(call: Call<WasiCallMeta>, d: Decision, denied: unknown, t0: number): WasiCallEvent {
    const meta = call.meta ?? {};
    const pd = meta.decision;
    // A refusal by the policy, or an allowed call (the policy allowed it): the policy's rule.
    const byPolicy = pd !== undefined && (d.by === "policy" || denied === undefined);
    const ev: Record<string, unknown> = {
      kind: "decision",
      component: this.component,
      interface: call.target,
      function: call.function,
      target: targetOf(call.args),
      decision: denied === undefined ? "allow" : "deny",
      code: byPolicy ? pd.code : "host",
      by: d.by ?? "policy",
      reason:
        (denied === undefined && byPolicy ? pd.reason : d.reason) ??
        (denied === undefined ? "allowed by the policies" : "denied"),
      micros: Math.round((performance.now() - t0) * 1e6) / 1000,
    };
    const rule = byPolicy ? meta.rule : d.rule;
    if (rule !== undefined) ev.rule = rule;
    if (byPolicy && pd.ruleId !== undefined) ev.rule_id = pd.ruleId;
    if (denied !== undefined) {
      ev.wasi_error = typeof denied === "string" ? denied : (denied as { tag: string }).tag;
      if (meta.hint !== undefined) ev.hint = meta.hint;
    }
    if (call.args !== undefined) ev.action = call.args;
    return ev as unknown as WasiCallEvent;
  }

  /** The refusals since the last call (for the tool's answer: what was refused, what to add). */
  takeDenials(): WasiCallEvent[] {
    const out = this.#denials;
    this.#denials = [];
    return out;
  }

  /** Per host function: calls run, refused, failed, and latency of the calls run. */
  metrics(): HostFunctionMetrics[] {
    const snap = this.statistics.snapshot();
    const out = new Map<string, HostFunctionMetrics>();
    for (const f of snap.functions) {
      out.set(`${f.target}\u0000${f.function}`, {
        interface: f.target,
        function: f.function,
        calls: f.calls,
        denied: 0,
        errors: f.errors,
        ...(f.timing ? { p50_ms: f.timing.p50_ms, p99_ms: f.timing.p99_ms } : {}),
      });
    }
    for (const [key, n] of this.#denied) {
      const [iface, fn] = key.split("\u0000") as [string, string];
      const m = out.get(key) ?? { interface: iface, function: fn, calls: 0, denied: 0, errors: 0 };
      out.set(key, { ...m, denied: n });
    }
    return [...out.values()];
  }
}
