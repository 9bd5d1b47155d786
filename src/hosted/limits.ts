/**
 * The sandbox limits of a hosted component call, from the policies' `resources.limits` and
 * `runtime` keys (docs/policy.md), the strictest of every policy in force:
 *
 * - memory: the smallest of resources.limits.memory, runtime.memory_limit and
 *   runtime.wasmtime.memory_limit (each core memory of the component is capped to it);
 * - time: resources.limits.execution_time (metered in the worker; the worker is terminated
 *   when a call overruns it by the pool's grace period);
 * - fuel: the smallest of runtime.fuel and runtime.wasmtime.fuel (off when unset);
 * - cpu: whole cores, as calls of a component at once (./cpu.ts; a fraction is refused).
 *
 * An unset limit is the default: 256 MiB of memory, 10 s, no fuel limit.
 */
import type { CompiledPolicy } from "../policy/policy.js";
import type { LimitsInput } from "../sandbox/limits.js";

/** The most memory a hosted component may have (its limit is capped to it). */
export const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

export const HOSTED_DEFAULTS = Object.freeze({
  memory_limit_bytes: MAX_MEMORY_BYTES,
  timeout_ms: 10_000,
});

function min(...xs: (number | undefined)[]): number | undefined {
  const ys = xs.filter((x): x is number => x !== undefined);
  return ys.length === 0 ? undefined : Math.min(...ys);
}

export function hostedLimits(policies: readonly CompiledPolicy[]): LimitsInput {
  const mem = min(
    ...policies.flatMap((p) => [
      p.limits.memory_bytes,
      p.runtime.memory_limit_bytes,
      p.runtime.wasmtime?.memory_limit_bytes,
    ]),
  );
  const time = min(...policies.map((p) => p.limits.execution_time_ms));
  const fuel = min(...policies.flatMap((p) => [p.runtime.fuel, p.runtime.wasmtime?.fuel]));
  return {
    memory_limit_bytes: Math.min(mem ?? HOSTED_DEFAULTS.memory_limit_bytes, MAX_MEMORY_BYTES),
    timeout_ms: Math.min(time ?? HOSTED_DEFAULTS.timeout_ms, 30_000),
    fuel: fuel ?? null,
    // componentize-js components declare large tables and a ~12 MB engine module.
    table_elements: 100_000,
    max_module_bytes: 64 * 1024 * 1024,
  };
}
