/**
 * The guards of one configuration. Each guard is a core strategy on each phase it runs on
 * (guard-strategy.ts), wrapped by its failure_mode (failure.ts), and the strategies of a phase
 * are composed by priority into one core `Chain`: lower priorities first, file order on ties.
 * The chain's rules are the guards' rules: a deny blocks and stops it; a modify rewrites the
 * payload (`call.args`) in place, so each guard sees it as the one before left it; warnings
 * and each guard's trail entry are collected on `call.meta`. A phase no guard runs on has no
 * chain, and `run` costs one property read.
 */
import type { Call } from "../core/call.js";
import { Chain } from "../core/chain.js";
import type { GuardSpec } from "./config-types.js";
import { GUARD_ALLOW, KIND_RANK } from "./decision.js";
import { type GuardCallMeta, guardStrategy } from "./guard-strategy.js";
import type { Guard, GuardContext, GuardDecision, GuardPhase, PhasePayload } from "./types.js";
import { GUARD_PHASES } from "./types.js";

/** What one guard did on one payload: one entry of the audit trail. */
export interface GuardTrail {
  guard: string;
  type: string;
  outcome: GuardDecision["kind"] | "failed";
  /** deny code, or the failure's code. */
  code?: string;
  message?: string;
  /** For failures: what the failure_mode made of it. */
  failureMode?: "fail_closed" | "fail_open";
  durationUs: number;
}

/** The outcome of one payload through a phase's guards. */
export interface GuardRun<P extends GuardPhase> {
  /** deny (the first deny stops the chain), else modify, else warn, else allow. */
  readonly decision: GuardDecision;
  /** The guard that decided a deny (or failed closed). */
  readonly by?: string;
  /** The payload after every modification, in order (the input when none). */
  readonly payload: PhasePayload[P];
  readonly warnings: readonly string[];
  readonly trail: readonly GuardTrail[];
  /** tools_list: each tool taken out of the listing, by the guard that took it out. */
  readonly hiddenBy?: ReadonlyMap<string, string>;
}

/** A loaded guard and the entry it was made from. */
export interface LoadedGuard {
  readonly spec: GuardSpec;
  readonly guard: Guard;
}

const EMPTY: readonly never[] = Object.freeze([]);

export class GuardSet {
  /** The enabled guards in priority order. */
  readonly guards: readonly LoadedGuard[];
  readonly #chains: Readonly<Record<GuardPhase, Chain<GuardCallMeta> | null>>;

  constructor(entries: readonly LoadedGuard[]) {
    const enabled = entries.filter((e) => e.spec.enabled);
    const chains = {} as Record<GuardPhase, Chain<GuardCallMeta> | null>;
    for (const phase of GUARD_PHASES) {
      const list = enabled.filter((e) => e.spec.runsOn.includes(phase));
      chains[phase] =
        list.length > 0
          ? new Chain(
              `guards.${phase}`,
              list.map((e) => guardStrategy(e, phase)),
            )
          : null;
    }
    this.#chains = Object.freeze(chains);
    this.guards = Object.freeze(
      enabled
        .map((e, i) => ({ e, i }))
        .sort((a, b) => a.e.spec.priority - b.e.spec.priority || a.i - b.i)
        .map((x) => x.e),
    );
    Object.freeze(this);
  }

  /** True when some guard runs on `phase`. */
  has(phase: GuardPhase): boolean {
    return this.#chains[phase] !== null;
  }

  /** True when some guard of `phase` fetches shared state before it judges (Guard.prepare). */
  prepares(phase: GuardPhase): boolean {
    return this.guards.some((e) => e.guard.prepare !== undefined && e.spec.runsOn.includes(phase));
  }

  /**
   * Let the guards of `phase` fetch what they will need for `payload` (Guard.prepare); undefined
   * when none has anything to fetch.
   */
  prepare<P extends GuardPhase>(
    phase: P,
    payload: PhasePayload[P],
    context: GuardContext,
  ): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined;
    for (const { spec, guard } of this.guards) {
      if (guard.prepare === undefined || !spec.runsOn.includes(phase)) continue;
      const p = guard.prepare(phase, payload, context);
      if (p !== undefined) (waits ??= []).push(p);
    }
    if (waits === undefined) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** The composed chain of a phase (null when no guard runs on it). */
  chain(phase: GuardPhase): Chain<GuardCallMeta> | null {
    return this.#chains[phase];
  }

  /** Run one payload through the guards of `phase`. */
  run<P extends GuardPhase>(
    phase: P,
    payload: PhasePayload[P],
    context: GuardContext,
  ): GuardRun<P> {
    const chain = this.#chains[phase];
    if (chain === null) return { decision: GUARD_ALLOW, payload, warnings: EMPTY, trail: EMPTY };
    if (context.timestamp === undefined) context.timestamp = Date.now();
    const meta: GuardCallMeta = { phase, context, trail: [], warnings: [] };
    const call: Call<GuardCallMeta> = {
      source: context.clientName ?? "",
      target: context.serverName,
      function: phase,
      args: payload,
      phase: "before",
      meta,
    };
    chain.before(call);
    const out = call.args as PhasePayload[P];
    const w = meta.warnings.length > 0 ? meta.warnings : EMPTY;
    if (meta.denied !== undefined)
      return {
        decision: meta.denied.decision,
        by: meta.denied.by,
        payload: out,
        warnings: w,
        trail: meta.trail,
      };
    let decision: GuardDecision = GUARD_ALLOW;
    if (meta.modified === true) decision = { kind: "modify", payload: out, messages: w };
    else if (w.length > 0) decision = { kind: "warn", messages: w };
    return {
      decision,
      payload: out,
      warnings: w,
      trail: meta.trail,
      ...(meta.hiddenBy === undefined ? {} : { hiddenBy: meta.hiddenBy }),
    };
  }

  /** Release every guard (component instances, watchers). */
  close(): void {
    for (const { guard } of this.guards) guard.close?.();
  }
}

/** The stricter of two guard decisions (a tie keeps the first). */
export function stricterGuard(a: GuardDecision, b: GuardDecision): GuardDecision {
  return KIND_RANK[b.kind] > KIND_RANK[a.kind] ? b : a;
}
