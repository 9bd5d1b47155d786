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
  type AdminRules,
  type AdminServer,
  createAdminServer,
  redisAdminPins,
  WasmMetrics,
} from "../admin/index.js";
import { pageRoutes } from "../admin/page/routes.js";
import { SharedRegistry } from "../admin/shared-registry.js";
import type { AuditRecord } from "../audit/record.js";
import { AuditLog } from "../audit/writer.js";
import { WardenError } from "../core/errors.js";
import { FileWatcher } from "../core/file-watch.js";
import type { GatewayConfig } from "../mcp/config-types.js";
import { stateMetrics } from "../mcp/state-metrics.js";
import { type CompiledPolicy, loadPolicyFileSync } from "../policy/index.js";
import { formatRulesProblems, loadRulesFile, loadRulesOrThrow } from "../rules/index.js";
import { PluginRegistry } from "../rules/registry/index.js";
import { RedisState } from "../state/index.js";

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
  /** The registry already opened (openPluginRegistry), e.g. the one the gateway's rules call. */
  registry?: OpenedRegistry;
  /** The rules in force (default: `rules: FILE` loaded once, calling the registry's plugins). */
  rules?: AdminRules;
  /**
   * Where the admin's audit lines go (pin approvals): under `warden gateway` the gateway's audit
   * log; default, with an `audit` section, an audit writer of the admin's own on that file.
   */
  audit?: (rec: AuditRecord) => void;
}

export function tokensOf(config: GatewayConfig): { name: string; secret: string }[] {
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

function compiledPolicy(file: string): CompiledPolicy {
  const r = loadPolicyFileSync(file);
  if (!r.ok)
    throw new WardenError(
      "policy_load_failed",
      `${file}: ${r.errors.length} error(s):\n${r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.code} ${e.message}`).join("\n")}`,
      { category: "config" },
    );
  return r.policy;
}

/**
 * The policy and the rules in force under `warden admin` alone (no gateway to follow): read at
 * start, then reloaded when their files change, as the gateway does: a valid new version is
 * swapped in, an invalid one is said on the log and the old one keeps answering.
 */
function watchedSources(
  config: GatewayConfig,
  registry: PluginRegistry,
  log: pino.Logger,
): { policy: () => CompiledPolicy; rules: AdminRules | undefined; close(): void } {
  let policy = compiledPolicy(config.policy);
  const file = (config as { rules?: unknown }).rules;
  const rulesFile = typeof file === "string" && file !== "" ? file : undefined;
  let rules = rulesFile === undefined ? null : loadRulesOrThrow(rulesFile, { plugins: registry });
  const watcher = new FileWatcher(() => {
    const p = loadPolicyFileSync(config.policy, { state: policy.state });
    if (p.ok) {
      if (p.policy.revision !== policy.revision) {
        policy = p.policy;
        log.info({ event: "admin.policy.reload", file: config.policy }, "admin.policy.reload");
      }
    } else
      log.error(
        { event: "admin.policy.rejected", file: config.policy, errors: p.errors },
        "the new policy does not compile; the old one keeps answering",
      );
    if (rulesFile === undefined) return;
    const r = loadRulesFile(rulesFile, { plugins: registry });
    if (r.ok) rules = r.rules;
    else
      log.error(
        { event: "admin.rules.rejected", file: rulesFile, problems: formatRulesProblems(r.errors) },
        "the new rules have problems; the old ones keep answering",
      );
  });
  watcher.set([config.policy, ...(rulesFile === undefined ? [] : [rulesFile])]);
  return {
    policy: () => policy,
    rules: rulesFile === undefined ? undefined : () => rules,
    close: () => watcher.close(),
  };
}

/** The process's pino logger for the admin API and the registry (stderr, WARDEN_LOG_LEVEL). */
export function adminLog(): pino.Logger {
  return pino({ base: null, level: process.env.WARDEN_LOG_LEVEL ?? "info" }, pino.destination(2));
}

/** The registry, its metrics and, with state.redis, the admin listener's Redis connection. */
export interface OpenedRegistry {
  registry: PluginRegistry;
  wasmMetrics: WasmMetrics;
  /** state.redis: the admin's own connection (closed by registry.close()). */
  redis?: RedisState;
}

/**
 * state.redis: the admin listener's own connection to Redis (the shared plugin registry, the
 * pins, /readyz), `connection="admin"` in /metrics (warden_state_redis_up,
 * warden_state_unavailable_total), its health changes logged. Waits up to connect_timeout_ms
 * for it, then starts anyway: what needs Redis is refused (503) until it is back.
 */
async function openAdminRedis(
  config: GatewayConfig,
  metricsRegistry: Registry,
  log: pino.Logger,
): Promise<RedisState | undefined> {
  const settings = config.state?.redis;
  if (settings === undefined) return undefined;
  const redis = RedisState.open(settings, {
    onHealth: (h) => {
      if (h.state === "up")
        log.info({ event: "admin.state.redis", url: h.url, state: h.state }, "admin.state.redis");
      else if (h.state !== "closed")
        log.warn(
          {
            event: "admin.state.redis",
            url: h.url,
            state: h.state,
            error: redis.scrub(h.error ?? ""),
          },
          "state.redis is not ready: plugin changes and pins are refused until it is back",
        );
    },
  });
  stateMetrics(metricsRegistry, redis, "admin");
  await redis.waitUp(settings.connectTimeoutMs);
  return redis;
}

/**
 * The plugin registry of `wasm:` and state.dir, observed by the seed's metrics in
 * `metricsRegistry`. One per process: the rules in force call it (RuleSet.withPlugins) and the
 * admin API manages it. wasm.enabled false (the default) keeps it empty. With state.redis the
 * admin's Redis connection is opened here too (the registry shares its plugins through it).
 */
export async function openPluginRegistry(
  config: GatewayConfig,
  metricsRegistry: Registry,
  log: pino.Logger,
): Promise<OpenedRegistry> {
  const wasmMetrics = new WasmMetrics(metricsRegistry);
  const wasm = config.wasm;
  const on = wasm?.enabled === true;
  const redis = await openAdminRedis(config, metricsRegistry, log);
  // state.redis: the API's plugins and their counts are shared with the other instances
  const share = on && redis !== undefined ? new SharedRegistry(redis, { log }) : undefined;
  let registry: PluginRegistry;
  try {
    registry = await PluginRegistry.open({
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
      ...(share === undefined ? {} : { share }),
    });
  } catch (e) {
    await redis?.close();
    throw e;
  }
  if (share !== undefined) await share.attach(registry);
  if (redis !== undefined) {
    const close = registry.close.bind(registry);
    registry.close = async () => {
      share?.close();
      await close();
      await redis.close();
    };
  }
  // plugin_dir is followed: a .wasm added, changed or removed there is picked up (docs/admin.md)
  if (on && wasm.pluginDir !== undefined) registry.watchPluginDir();
  return { registry, wasmMetrics, ...(redis === undefined ? {} : { redis }) };
}

/** Open the registry (unless given), build the admin server and start listening. */
export async function startAdminApi(
  config: GatewayConfig,
  opts: ComposeAdminOptions = {},
): Promise<AdminServer & { reopenAudit(): void }> {
  const log = opts.log ?? adminLog();
  const metricsRegistry = opts.metricsRegistry ?? new Registry();
  const { registry, wasmMetrics, redis } =
    opts.registry ?? (await openPluginRegistry(config, metricsRegistry, log));
  const listen = config.admin?.listen ?? {
    host: ADMIN_DEFAULTS.host,
    port: ADMIN_DEFAULTS.port,
    allowedHosts: [],
    allowInsecure: false,
  };
  // under warden gateway the gateway's policy and rules (hot reload theirs); alone, watched here
  const own =
    opts.policy === undefined || opts.rules === undefined
      ? watchedSources(config, registry, log)
      : undefined;
  const rules = opts.rules ?? own?.rules;
  // warden admin alone: its pin approvals go to the audit section's file (appended, one write
  // per line batch, as a gateway on the same file does)
  const ownAudit =
    opts.audit === undefined && config.audit !== undefined ? new AuditLog(config.audit) : undefined;
  const audit = opts.audit ?? (ownAudit && ((rec: AuditRecord) => void ownAudit.write(rec)));
  const server = await createAdminServer({
    listen: opts.port === undefined ? listen : { ...listen, port: opts.port },
    tokens: tokensOf(config),
    registry,
    pluginsEnabled: config.wasm?.enabled === true,
    policy: opts.policy ?? own!.policy,
    ...(rules === undefined ? {} : { rules }),
    metricsRegistry,
    wasmMetrics,
    log,
    ...(opts.views === undefined ? {} : { views: opts.views }),
    // state.redis: /readyz reports the connection; the pins are Redis's, never the files
    ...(redis === undefined ? {} : { redis, pins: redisAdminPins(redis) }),
    ...(audit === undefined ? {} : { audit }),
    // the admin page at / (src/admin/page): its files, and pins, upstreams and live decisions
    extraRoutes: pageRoutes,
  });
  await server.listen().catch((e: unknown) => {
    own?.close();
    ownAudit?.close();
    throw e;
  });
  const close = server.close.bind(server);
  return Object.assign(server, {
    close: async () => {
      own?.close();
      await close();
      ownAudit?.close();
      // the plugins' counters, kept under state.dir across restarts
      await registry.close();
    },
    /** SIGHUP: start a new audit file after rotation (its own audit writer, if any). */
    reopenAudit: () => ownAudit?.reopen(),
  });
}
