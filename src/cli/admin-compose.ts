/**
 * The cli composes the admin API (docs/admin.md): the plugin registry from `wasm:` and
 * state.dir, the policy of `policy:`, the tokens of `auth`, the process's one prom-client
 * registry and, under `warden gateway`, the gateway's read-only views. The admin layer imports
 * none of mcp: what it needs of the config and the views is handed here.
 */
import pino from "pino";
import { Registry } from "prom-client";
import {
  ADMIN_DEFAULTS,
  type AdminGatewayViews,
  type AdminServer,
  createAdminServer,
  WasmMetrics,
} from "../admin/index.js";
import { WardenError } from "../core/errors.js";
import type { GatewayConfig } from "../mcp/config-types.js";
import { type CompiledPolicy, loadPolicyFileSync } from "../policy/index.js";
import { PluginRegistry } from "../rules/registry/index.js";

export interface ComposeAdminOptions {
  /** The process's prom-client registry (the gateway's metrics are registered in it too). */
  metricsRegistry?: Registry;
  views?: AdminGatewayViews;
  /** The policy in force (default: compiled from config.policy once, at start). */
  policy?: () => CompiledPolicy;
  /** Replace admin.listen.port (warden admin --port). */
  port?: number;
  /** pino destination (default stderr). */
  log?: pino.Logger;
}

function tokensOf(config: GatewayConfig): { name: string; secret: string }[] {
  return (config.auth?.tokens ?? []).map((t) => {
    const secret = process.env[t.env];
    if (!secret)
      throw new WardenError(
        "config_invalid",
        `Token "${t.name}" of auth.tokens is read from $${t.env}, which is not set; export the token the admin API's clients must send.`,
        { category: "config" },
      );
    return { name: t.name, secret };
  });
}

function policyOf(config: GatewayConfig): () => CompiledPolicy {
  const r = loadPolicyFileSync(config.policy);
  if (!r.ok)
    throw new WardenError(
      "policy_load_failed",
      `${config.policy}: ${r.errors.length} error(s):\n${r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.code} ${e.message}`).join("\n")}`,
      { category: "config" },
    );
  const p = r.policy;
  return () => p;
}

/** Open the registry, build the admin server and start listening. */
export async function startAdminApi(
  config: GatewayConfig,
  opts: ComposeAdminOptions = {},
): Promise<AdminServer> {
  const log =
    opts.log ??
    pino({ base: null, level: process.env.WARDEN_LOG_LEVEL ?? "info" }, pino.destination(2));
  const metricsRegistry = opts.metricsRegistry ?? new Registry();
  const wasmMetrics = new WasmMetrics(metricsRegistry);
  const wasm = config.wasm;
  // wasm.enabled: false (the default) keeps the registry empty and its routes 501
  const on = wasm?.enabled === true;
  const registry = await PluginRegistry.open({
    ...(on && config.state ? { stateDir: config.state.dir } : {}),
    ...(on && wasm.pluginDir !== undefined ? { pluginDir: wasm.pluginDir } : {}),
    ...(wasm
      ? {
          defaultMemoryLimitBytes: wasm.defaultMemoryLimitBytes,
          defaultTimeoutMs: wasm.defaultTimeoutMs,
        }
      : {}),
    ...(config.state?.cacheDir === undefined ? {} : { cacheDir: config.state.cacheDir }),
    log,
    observer: wasmMetrics,
  });
  const listen = config.admin?.listen ?? {
    host: ADMIN_DEFAULTS.host,
    port: ADMIN_DEFAULTS.port,
    allowedHosts: [],
    allowInsecure: false,
  };
  const server = await createAdminServer({
    listen: opts.port === undefined ? listen : { ...listen, port: opts.port },
    tokens: tokensOf(config),
    registry,
    pluginsEnabled: on,
    policy: opts.policy ?? policyOf(config),
    metricsRegistry,
    wasmMetrics,
    log,
    ...(opts.views === undefined ? {} : { views: opts.views }),
  });
  await server.listen();
  return server;
}
