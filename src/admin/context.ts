/** What every admin route reads: handed once to createAdminServer (and to extra routes). */
import type { Registry } from "prom-client";
import type { AuditRecord } from "../audit/record.js";
import type { CompiledPolicy } from "../policy/index.js";
import type { RuleSet } from "../rules/index.js";
import type { PluginRegistry, RegistryLog } from "../rules/registry/index.js";
import type { RedisState } from "../state/index.js";
import type { AdminAccess } from "./access.js";
import type { WasmMetrics } from "./metrics.js";
import type { AdminPins } from "./pins.js";
import type { AdminGatewayViews } from "./views.js";

/** The rules in force (`rules: FILE`, calling the registry's plugins); null: none. */
export type AdminRules = () => RuleSet | null;

export interface AdminContext {
  readonly registry: PluginRegistry;
  /** The policy in force (read at each request: a reload is seen at once). */
  readonly policy: (() => CompiledPolicy) | undefined;
  readonly rules: AdminRules | undefined;
  /** The gateway's read-only views (absent under `warden admin`, which runs no gateway). */
  readonly views: AdminGatewayViews | undefined;
  /** state.redis: rug_pull's pins in Redis (served instead of the views' pins files). */
  readonly pins?: AdminPins | undefined;
  /** state.redis: the admin listener's connection to Redis (/readyz, the registry, the pins). */
  readonly redis?: RedisState | undefined;
  /** Where the admin's audit lines go (pin approvals): the gateway's audit log, or its own. */
  readonly audit?: ((rec: AuditRecord) => void) | undefined;
  /** The process's one prom-client registry (GET /metrics). */
  readonly metricsRegistry: Registry;
  readonly wasmMetrics: WasmMetrics;
  readonly log: RegistryLog;
  readonly access: AdminAccess;
}
