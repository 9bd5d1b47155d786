/** What every admin route reads: handed once to createAdminServer (and to extra routes). */
import type { Registry } from "prom-client";
import type { CompiledPolicy } from "../policy/index.js";
import type { PluginRegistry, RegistryLog } from "../rules/registry/index.js";
import type { AdminAccess } from "./access.js";
import type { WasmMetrics } from "./metrics.js";
import type { AdminGatewayViews } from "./views.js";

/**
 * The rules engine as the decision API calls it (provided by the rules layer through the cli;
 * absent: /v1/check answers with the policy alone and /v1/rules/playground is 501).
 */
export interface AdminRules {
  /** Judge an action the policy allowed; the result is shown as `rules` in /v1/check. */
  check(action: unknown): unknown;
  /** The playground: every rule's trace for an action (rules YAML given, or the rules in force). */
  playground(body: { rules?: string; action: unknown }): unknown;
}

export interface AdminContext {
  readonly registry: PluginRegistry;
  /** The policy in force (read at each request: a reload is seen at once). */
  readonly policy: (() => CompiledPolicy) | undefined;
  readonly rules: AdminRules | undefined;
  /** The gateway's read-only views (absent under `warden admin`, which runs no gateway). */
  readonly views: AdminGatewayViews | undefined;
  /** The process's one prom-client registry (GET /metrics). */
  readonly metricsRegistry: Registry;
  readonly wasmMetrics: WasmMetrics;
  readonly log: RegistryLog;
  readonly access: AdminAccess;
}
