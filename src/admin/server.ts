/**
 * The admin HTTP API on Fastify (docs/admin.md): /healthz, /metrics, /v1/wasm/plugins, the
 * decision API (/v1/check, /v1/policy, /v1/policy/explain, /v1/rules/playground). Fastify owns
 * parsing, body limits and timeouts; every request passes the access hook (access.ts) first.
 * Loopback by default; beyond loopback it needs TLS and tokens, or it refuses to start.
 *
 * Extra routes (the admin page, src/admin/page/): pass `extraRoutes`, a function called with
 * the Fastify instance (inside the access hook's scope) and the AdminContext; a route with
 * `config: { public: true }` is served without a token (never without the Host check).
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import type { AuditRecord } from "../audit/record.js";
import { capConnections } from "../core/connection-cap.js";
import { WardenError } from "../core/errors.js";
import type { CompiledPolicy } from "../policy/index.js";
import type { PluginRegistry, RegistryLog } from "../rules/registry/index.js";
import type { RedisState } from "../state/index.js";
import { AdminAccess, type Authenticator } from "./access.js";
import { ADMIN_DEFAULTS, type AdminListen, type AdminToken, isLoopback } from "./config-types.js";
import type { AdminContext, AdminRules } from "./context.js";
import { WasmMetrics } from "./metrics.js";
import type { AdminPins } from "./pins.js";
import { sendError, sendThrown } from "./reply.js";
import { decisionRoutes } from "./routes/decisions.js";
import { pluginRoutes } from "./routes/plugins.js";
import type { AdminGatewayViews } from "./views.js";

export interface AdminServerOptions {
  readonly listen: AdminListen;
  /** The `auth` section's tokens with their values; none: every caller is "anonymous". */
  readonly tokens?: readonly AdminToken[];
  readonly registry: PluginRegistry;
  /** wasm.enabled: false answers the plugin routes 501 (default true). */
  readonly pluginsEnabled?: boolean;
  /** The policy in force, for the decision API. */
  readonly policy?: () => CompiledPolicy;
  readonly rules?: AdminRules;
  readonly views?: AdminGatewayViews;
  /**
   * state.redis: the admin listener's connection to Redis, reported by /readyz (`degraded`
   * while it is not ready); the cli closes it.
   */
  readonly redis?: RedisState;
  /** state.redis: rug_pull's pins in Redis (the page's pins view and Approve use them). */
  readonly pins?: AdminPins;
  /** Audit lines of the admin (pin approvals, kind pin_approval): the process's audit log. */
  readonly audit?: (rec: AuditRecord) => void;
  /** The process's prom-client registry (shared with the gateway's metrics); default a new one. */
  readonly metricsRegistry?: Registry;
  /** The WasmMetrics already observing `registry` (made by the cli); default made here. */
  readonly wasmMetrics?: WasmMetrics;
  /** pino (or compatible): request lines and the seed's wasm.plugin.* events. */
  readonly log?: RegistryLog;
  /** Register more routes (the admin page): called inside the access hook's scope. */
  readonly extraRoutes?: (app: FastifyInstance, ctx: AdminContext) => void | Promise<void>;
  /** Other ways to name a caller besides the bearer token (e.g. the page's session cookie). */
  readonly authenticators?: readonly Authenticator[];
  /** Body limit of JSON requests (default 1 MiB). */
  readonly bodyBytes?: number;
}

export interface AdminServer {
  readonly app: FastifyInstance;
  readonly context: AdminContext;
  /** Start listening on admin.listen; resolves to the bound address. */
  listen(): Promise<AddressInfo>;
  /** The URL it serves (after listen). */
  readonly url: string;
  /**
   * The `auth` section's tokens from now on (a reload); throws insecure_listen, keeping the
   * tokens in force, when the listener is beyond loopback and `tokens` is empty.
   */
  setTokens(tokens: readonly AdminToken[]): void;
  close(): Promise<void>;
}

const SILENT: RegistryLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Refuse a listener beyond loopback without TLS and tokens (unless allow_insecure). */
export function checkListen(listen: AdminListen, tokens: readonly AdminToken[]): void {
  if (isLoopback(listen.host) || listen.allowInsecure === true) return;
  const missing = [
    listen.tls === undefined ? "TLS (admin.listen.tls)" : "",
    tokens.length === 0 ? "tokens (auth.tokens)" : "",
  ]
    .filter((x) => x !== "")
    .join(" and ");
  if (missing === "") return;
  throw new WardenError(
    "insecure_listen",
    `admin.listen.host ${listen.host} is reachable beyond this host, without ${missing}: add them, listen on 127.0.0.1, or set admin.listen.allow_insecure: true if a proxy in front provides them`,
    { category: "config", details: { key: "admin.listen.host" } },
  );
}

/** Map Fastify's and @fastify/multipart's own errors to the admin codes. */
function fastifyErrorCode(e: FastifyError): { code: string; status: number; message: string } {
  const status = e.statusCode ?? 500;
  switch (e.code) {
    case "FST_REQ_FILE_TOO_LARGE":
      return {
        code: "too_large",
        status: 413,
        message: "wasm_file is larger than the module size limit (16 MiB); build a smaller module",
      };
    case "FST_PARTS_LIMIT":
    case "FST_FILES_LIMIT":
    case "FST_FIELDS_LIMIT":
      return {
        code: "admin_too_large",
        status: 413,
        message: `multipart body past its limits (${e.message}): send name, wasm_file and at most description, memory_limit_bytes, timeout_ms, enabled`,
      };
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        code: "admin_too_large",
        status: 413,
        message: "request body past the admin API's body limit (1 MiB)",
      };
  }
  if (status >= 400 && status < 500)
    return {
      code: "admin_bad_request",
      status: status === 406 ? 415 : status,
      message: e.message,
    };
  return { code: "internal", status: 500, message: "the admin API failed unexpectedly" };
}

export async function createAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const tokens = opts.tokens ?? [];
  checkListen(opts.listen, tokens);
  const log = opts.log ?? SILENT;
  const metricsRegistry = opts.metricsRegistry ?? new Registry();
  const wasmMetrics = opts.wasmMetrics ?? new WasmMetrics(metricsRegistry);
  wasmMetrics.changed(opts.registry.size, opts.registry.memoryUsedBytes);
  const access = new AdminAccess(opts.listen, tokens, [...(opts.authenticators ?? [])]);
  const tls = opts.listen.tls;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyBytes ?? ADMIN_DEFAULTS.bodyBytes,
    requestTimeout: ADMIN_DEFAULTS.requestTimeoutMs,
    keepAliveTimeout: ADMIN_DEFAULTS.keepAliveMs,
    connectionTimeout: ADMIN_DEFAULTS.requestTimeoutMs * 2,
    routerOptions: { maxParamLength: 512 },
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: true,
    // refuse unknown keys instead of dropping them; never coerce types
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...(tls ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = ADMIN_DEFAULTS.headersTimeoutMs;
  capConnections(
    app.server,
    { total: ADMIN_DEFAULTS.connections, perAddress: ADMIN_DEFAULTS.connectionsPerAddress },
    (n, why) =>
      log.warn(
        { event: "admin.connections_refused", refused: n },
        `admin: refused ${n} connection(s): ${why}`,
      ),
  );
  const context: AdminContext = {
    registry: opts.registry,
    policy: opts.policy,
    rules: opts.rules,
    views: opts.views,
    pins: opts.pins,
    redis: opts.redis,
    audit: opts.audit,
    metricsRegistry,
    wasmMetrics,
    log,
    access,
  };
  app.addHook("onRequest", access.hook);
  app.addHook("onResponse", async (req, reply) => {
    log.info(
      {
        event: "admin.request",
        method: req.method,
        url: req.url.length > 256 ? `${req.url.slice(0, 256)}...` : req.url,
        status: reply.statusCode,
        caller: (req as { caller?: string }).caller ?? null,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      "admin.request",
    );
  });
  app.setErrorHandler((error, _req, reply) => {
    if (error instanceof WardenError) return sendThrown(reply, error);
    const e = error as FastifyError;
    const m = fastifyErrorCode(e);
    if (m.status >= 500) log.error({ event: "admin.error", err: e.message }, "admin.error");
    return sendError(reply.header("connection", "close"), m.code, m.message, {}, m.status);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      "admin_route_not_found",
      `no admin route ${req.method} ${req.url.split("?")[0]?.slice(0, 200)}; see docs/admin.md`,
    ),
  );

  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok" }));
  // Like the gateway's /readyz (docs/scale-out.md, "Health"): 200 `degraded` while the Redis of
  // state.redis is not ready (it is every instance's: a 503 would drop them all at once, and
  // what needs no Redis still works); the connection's details only to a caller with a token.
  app.get("/readyz", { config: { public: true } }, async (req, reply) => {
    const redis = opts.redis;
    const status = redis !== undefined && !redis.up ? "degraded" : "ready";
    const detailed = !access.tokens || access.identify(req) !== undefined;
    reply.header("cache-control", "no-store");
    return {
      status,
      ...(detailed && redis !== undefined ? { state: { redis: redis.report() } } : {}),
    };
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await metricsRegistry.metrics();
    return reply.type(metricsRegistry.contentType).send(text);
  });
  await app.register(async (scope) => pluginRoutes(scope, context, opts.pluginsEnabled !== false));
  await app.register(async (scope) => decisionRoutes(scope, context));
  if (opts.extraRoutes) {
    const extra = opts.extraRoutes;
    await app.register(async (scope) => extra(scope, context));
  }

  let url = "";
  return {
    app,
    context,
    get url() {
      return url;
    },
    async listen() {
      try {
        await app.listen({ host: opts.listen.host, port: opts.listen.port });
      } catch (e) {
        throw new WardenError(
          "admin_listen_failed",
          `admin API cannot listen on ${opts.listen.host}:${opts.listen.port}: ${(e as Error).message}; choose another admin.listen.port or stop what uses it`,
          { category: "config", cause: e },
        );
      }
      const addr = app.server.address() as AddressInfo;
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      url = `${tls ? "https" : "http"}://${host}:${addr.port}`;
      return addr;
    },
    setTokens(tokens) {
      checkListen(opts.listen, tokens);
      access.setTokens(tokens);
    },
    close: () => app.close(),
  };
}
