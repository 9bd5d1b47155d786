import type { Call } from "../core/call.js";
import type { Decision } from "../core/decision.js";
import { isWardenError } from "../core/errors.js";
import type { Strategy } from "../core/strategy.js";
import type { GuardSpec } from "./config-types.js";
import { blockOf, guardDeny } from "./decision.js";
import type { GuardCallMeta } from "./guard-strategy.js";
import type { GuardPhase } from "./types.js";

/** A guard failure in two words and a sentence: the sandbox's code (timeout, trap...) or `threw`. */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (isWardenError(error)) return { code: error.code, message: oneLine(error.message) };
  if (error instanceof Error) return { code: "threw", message: oneLine(error.message) };
  return { code: "threw", message: oneLine(String(error)) };
}

function oneLine(s: string): string {
  const t = s.replace(/\s*\n\s*/g, " ");
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/**
 * `failure_mode` as a strategy wrapper, and the guard's clock: a guard strategy that throws
 * (a trap, a timeout, a bad answer) has failed. `fail_closed` blocks the call with
 * `guard_failed`, saying so; `fail_open` skips the guard with a warning and the chain goes on.
 * Either way the trail records the failure and what the mode made of it.
 */
export function withFailureMode(
  spec: GuardSpec,
  phase: GuardPhase,
  inner: Strategy<GuardCallMeta>,
): Strategy<GuardCallMeta> {
  const judge = inner.beforeCall!.bind(inner);
  return {
    name: inner.name,
    priority: spec.priority,
    beforeCall(call: Call<GuardCallMeta>): Decision | undefined {
      const m = call.meta!;
      const at = m.trail.length;
      const t0 = performance.now();
      try {
        const d = judge(call);
        m.trail[at]!.durationUs = Math.round((performance.now() - t0) * 1000);
        return d;
      } catch (error) {
        const f = describeFailure(error);
        m.trail.length = at;
        m.trail.push({
          guard: spec.id,
          type: spec.type,
          outcome: "failed",
          code: f.code,
          message: f.message,
          failureMode: spec.failureMode,
          durationUs: Math.round((performance.now() - t0) * 1000),
        });
        const text = `guard "${spec.id}" failed on ${phase} (${f.code}: ${f.message})`;
        if (spec.failureMode === "fail_open") {
          m.warnings.push(`${text}; skipped because its failure_mode is fail_open`);
          return undefined;
        }
        const denied = guardDeny(
          "guard_failed",
          `${text}; denied because its failure_mode is fail_closed (set failure_mode: fail_open to let traffic through when it fails).`,
          { guard: spec.id, failure: f.code, failure_mode: "fail_closed" },
        );
        m.denied = { by: spec.id, decision: denied };
        return blockOf(spec.id, denied);
      }
    },
  };
}
