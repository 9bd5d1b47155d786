import type { LimitsInput } from "../../sandbox/limits.js";
import type { GuardSpec } from "../config-types.js";

/**
 * The sandbox limits of a guard: memory from limits.max_memory_bytes; time from the stricter of
 * timeout_ms and limits.max_execution_time_ms; fuel from limits.max_fuel (off when absent).
 */
export function limitsOf(spec: GuardSpec, extra: LimitsInput = {}): LimitsInput {
  return {
    memory_limit_bytes: spec.limits.maxMemoryBytes,
    timeout_ms: Math.min(spec.timeoutMs, spec.limits.maxExecutionTimeMs ?? spec.timeoutMs),
    fuel: spec.limits.maxFuel ?? null,
    ...extra,
  };
}
