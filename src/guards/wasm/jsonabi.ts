/**
 * A guard written as a core module with the sandbox's JSON ABI (for languages without
 * component tooling, e.g. AssemblyScript or C). The guard's `evaluate(ptr, len) -> i64` gets
 *
 *   {"phase": "tools_list", "context": {...}, "payload": ..., "config": {...}}
 *
 * and answers the sandbox's `{"verdict", "message"?, "metadata"?}`:
 * - verdict false: deny, code `metadata.code` (default `denied`), message, details `metadata.details`;
 * - verdict true with `metadata.modify`: modify, the changed payload (same shape as the input's);
 * - verdict true with `metadata.warn` (a list of strings): warn;
 * - verdict true otherwise: allow.
 * One stateful instance per guard (state persists); the sandbox replaces it after a failure.
 */
import { WardenError } from "../../core/errors.js";
import { loadPlugin, type Plugin } from "../../sandbox/plugin.js";
import type { GuardSpec } from "../config-types.js";
import type { Guard, GuardContext, GuardDecision, GuardPhase, PhasePayload } from "../types.js";
import { limitsOf } from "./limits.js";
import { fromWitDecision, GuardOutputError, type WitDecision } from "./wit-convert.js";

export async function loadJsonAbiGuard(
  spec: GuardSpec,
  bytes: Uint8Array,
  cacheDir?: string,
): Promise<Guard & { plugin: Plugin }> {
  const plugin = await loadPlugin(bytes, {
    name: spec.id,
    limits: limitsOf(spec),
    stateful: true,
    ...(cacheDir === undefined ? {} : { cacheDir }),
  });
  const config = spec.config;
  return {
    id: spec.id,
    type: "wasm",
    plugin,
    evaluate<P extends GuardPhase>(
      phase: P,
      payload: PhasePayload[P],
      ctx: GuardContext,
    ): GuardDecision {
      const r = plugin.evaluateSync({ phase, context: { ...ctx, phase }, payload, config });
      const meta = r.metadata ?? {};
      let d: WitDecision;
      if (!r.verdict) {
        d = {
          tag: "deny",
          val: {
            code: typeof meta.code === "string" ? meta.code : "denied",
            message: r.message ?? `denied by guard "${spec.id}"`,
            details: meta.details === undefined ? undefined : JSON.stringify(meta.details),
          },
        };
      } else if (meta.modify !== undefined) d = { tag: "modify", val: JSON.stringify(meta.modify) };
      else if (Array.isArray(meta.warn)) d = { tag: "warn", val: meta.warn.map(String) };
      else d = { tag: "allow" };
      try {
        return fromWitDecision(d, phase, payload);
      } catch (error) {
        if (error instanceof GuardOutputError)
          throw new WardenError("invalid_output", `guard "${spec.id}": ${error.message}`, {
            category: "plugin",
            details: { guard: spec.id },
          });
        throw error;
      }
    },
  };
}
