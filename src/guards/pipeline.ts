import type { GuardSpec } from "./config-types.js";
import { GUARD_ALLOW, guardDeny, KIND_RANK, validateDecision } from "./decision.js";
import { describeFailure } from "./failure.js";
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

/** The outcome of a phase: the strictest decision, the final payload, warnings, the trail. */
export interface PipelineResult<P extends GuardPhase> {
  /** deny (first deny wins and stops the chain), else modify, else warn, else allow. */
  readonly decision: GuardDecision;
  /** The guard that decided a deny (or failed closed). */
  readonly by?: string;
  /** The payload after every modification, in order (the input when none). */
  readonly payload: PhasePayload[P];
  readonly warnings: readonly string[];
  readonly trail: readonly GuardTrail[];
}

interface Entry {
  readonly spec: GuardSpec;
  readonly guard: Guard;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Guards composed for every phase, once: each phase's list is fixed in priority order (lower
 * first, file order on ties) and is `null` when no guard runs on it, so a phase without guards
 * costs one property read. Running a phase: guards run in order; a deny stops the chain;
 * modifications apply in order (each guard sees the payload as the previous one left it);
 * warnings are collected; the strictest outcome wins. A guard that throws, or answers with
 * something that is not a decision, follows its failure_mode: fail_closed denies, fail_open
 * skips it with a warning, and the trail says which.
 */
export class GuardPipeline {
  readonly guards: readonly Entry[];
  readonly #byPhase: Readonly<Record<GuardPhase, readonly Entry[] | null>>;

  constructor(entries: readonly Entry[]) {
    const sorted = entries
      .filter((e) => e.spec.enabled)
      .map((e, i) => ({ e, i }))
      .sort((a, b) => a.e.spec.priority - b.e.spec.priority || a.i - b.i)
      .map((x) => x.e);
    const by = {} as Record<GuardPhase, Entry[] | null>;
    for (const phase of GUARD_PHASES) {
      const list = sorted.filter((e) => e.spec.runsOn.includes(phase));
      by[phase] = list.length > 0 ? list : null;
    }
    this.guards = Object.freeze(sorted);
    this.#byPhase = Object.freeze(by);
    Object.freeze(this);
  }

  /** True when some guard runs on `phase`. */
  has(phase: GuardPhase): boolean {
    return this.#byPhase[phase] !== null;
  }

  run<P extends GuardPhase>(
    phase: P,
    payload: PhasePayload[P],
    context: GuardContext,
  ): PipelineResult<P> {
    const list = this.#byPhase[phase];
    if (list === null) return { decision: GUARD_ALLOW, payload, warnings: EMPTY, trail: EMPTY };
    if (context.timestamp === undefined) context.timestamp = Date.now();
    let current = payload;
    let modified = false;
    let warnings: string[] | undefined;
    const trail: GuardTrail[] = [];
    for (const { spec, guard } of list) {
      const t0 = performance.now();
      let d: GuardDecision | string;
      let failure: { code: string; message: string } | undefined;
      try {
        const raw = guard.evaluate(phase, current, context);
        d = spec.type === "wasm" ? validateDecision(raw) : raw;
        if (typeof d === "string")
          failure = { code: "invalid_output", message: `returned a bad decision: ${d}` };
      } catch (error) {
        failure = describeFailure(error);
        d = "";
      }
      const durationUs = Math.round((performance.now() - t0) * 1000);
      if (failure !== undefined) {
        const base = {
          guard: spec.id,
          type: spec.type,
          outcome: "failed" as const,
          code: failure.code,
          message: failure.message,
          failureMode: spec.failureMode,
          durationUs,
        };
        trail.push(base);
        const text = `guard "${spec.id}" failed on ${phase} (${failure.code}: ${failure.message})`;
        if (spec.failureMode === "fail_open") {
          (warnings ??= []).push(`${text}; skipped because its failure_mode is fail_open`);
          continue;
        }
        return {
          decision: guardDeny(
            "guard_failed",
            `${text}; denied because its failure_mode is fail_closed (set failure_mode: fail_open to let traffic through when it fails).`,
            { guard: spec.id, failure: failure.code, failure_mode: "fail_closed" },
          ),
          by: spec.id,
          payload: current,
          warnings: warnings ?? EMPTY,
          trail,
        };
      }
      const dec = d as GuardDecision;
      const entry: GuardTrail = { guard: spec.id, type: spec.type, outcome: dec.kind, durationUs };
      if (dec.kind === "deny") {
        entry.code = dec.code;
        entry.message = dec.message;
        trail.push(entry);
        return { decision: dec, by: spec.id, payload: current, warnings: warnings ?? EMPTY, trail };
      }
      trail.push(entry);
      if (dec.kind === "modify") {
        current = dec.payload as PhasePayload[P];
        modified = true;
        if (dec.messages) (warnings ??= []).push(...dec.messages);
      } else if (dec.kind === "warn") (warnings ??= []).push(...dec.messages);
    }
    const w = warnings ?? EMPTY;
    let decision: GuardDecision = GUARD_ALLOW;
    if (modified) decision = { kind: "modify", payload: current, messages: w };
    else if (w.length > 0) decision = { kind: "warn", messages: w };
    return { decision, payload: current, warnings: w, trail };
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
