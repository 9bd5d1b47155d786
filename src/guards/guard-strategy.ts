/**
 * One guard on one phase as a core strategy. The call is the payload itself: `call.args` is the
 * phase's payload (rewritten in place on modify), `call.meta` the context and what the guards
 * of this run have said so far. Wrapped by the guard's failure_mode (failure.ts).
 */
import type { Call } from "../core/call.js";
import type { Decision } from "../core/decision.js";
import { WardenError } from "../core/errors.js";
import type { Strategy } from "../core/strategy.js";
import { blockOf, validateDecision } from "./decision.js";
import { withFailureMode } from "./failure.js";
import type { GuardTrail, LoadedGuard } from "./set.js";
import type { GuardContext, GuardDecision, GuardPhase } from "./types.js";

/** What a guard chain's calls carry: the context, and what the guards said so far. */
export interface GuardCallMeta {
  phase: GuardPhase;
  context: GuardContext;
  /** One entry per guard that ran, in order. */
  trail: GuardTrail[];
  /** Warnings of every guard that ran (warn, modify messages, fail_open failures). */
  warnings: string[];
  /** Set when a guard modified the payload. */
  modified?: boolean;
  /** The deny that stopped the chain, as the guard said it. */
  denied?: { readonly by: string; readonly decision: GuardDecision };
  /** tools_list: each tool a guard's modify took out of the listing, by that guard's id. */
  hiddenBy?: Map<string, string>;
}

export function guardStrategy(
  { spec, guard }: LoadedGuard,
  phase: GuardPhase,
): Strategy<GuardCallMeta> {
  const checked = spec.type === "wasm";
  return withFailureMode(spec, phase, {
    name: spec.id,
    priority: spec.priority,
    beforeCall(call: Call<GuardCallMeta>): Decision | undefined {
      const m = call.meta!;
      const raw = guard.evaluate(phase, call.args as never, m.context);
      const d = checked ? validateDecision(raw) : raw;
      if (typeof d === "string")
        throw new WardenError("invalid_output", `returned a bad decision: ${d}`, {
          category: "plugin",
        });
      const entry: GuardTrail = { guard: spec.id, type: spec.type, outcome: d.kind, durationUs: 0 };
      m.trail.push(entry);
      switch (d.kind) {
        case "deny":
          entry.code = d.code;
          entry.message = d.message;
          m.denied = { by: spec.id, decision: d };
          return blockOf(spec.id, d);
        case "modify":
          if (phase === "tools_list") noteHidden(m, spec.id, call.args, d.payload);
          call.args = d.payload;
          m.modified = true;
          if (d.messages) m.warnings.push(...d.messages);
          return undefined;
        case "warn":
          m.warnings.push(...d.messages);
          return undefined;
        default:
          return undefined;
      }
    },
  });
}

/** Which tools a tools_list guard's modify took out, so a call to one names that guard. */
function noteHidden(m: GuardCallMeta, by: string, before: unknown, after: unknown): void {
  if (!Array.isArray(before) || !Array.isArray(after)) return;
  const kept = new Set<unknown>();
  for (const t of after) kept.add((t as { name?: unknown } | null)?.name);
  for (const t of before) {
    const name = (t as { name?: unknown } | null)?.name;
    if (typeof name !== "string" || kept.has(name)) continue;
    m.hiddenBy ??= new Map();
    if (!m.hiddenBy.has(name)) m.hiddenBy.set(name, by);
  }
}
