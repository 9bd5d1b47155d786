/**
 * The gateway: a front (stdio or HTTP), one GatewaySession per downstream session, the
 * policy and judges, the audit log, and hot reload of the config and policy files.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { RecentLines } from "../audit/recent.js";
import type { AuditConfig } from "../audit/record.js";
import { WardenError } from "../core/errors.js";
import { FileWatcher } from "../core/file-watch.js";
import type { Strategy } from "../core/strategy.js";
import { type CompiledPolicy, loadPolicyFileSync, PolicyHolder } from "../policy/index.js";
import { RedisPins, RedisState } from "../state/index.js";
import type { CallTracer, OtlpSettings } from "../telemetry/index.js";
import { AuditLog, newCallId, type Refusal, refusalEntry } from "./audit.js";
import { formatIssues, parseConfig } from "./config.js";
import {
  type GatewayConfig,
  HTTP_LIMITS,
  type HttpListenConfig,
  type SessionRoutingConfig,
} from "./config-types.js";
import { authReload, frontOAuth, frontTokens } from "./gateway-auth.js";
import { HttpFront } from "./http-front.js";
import { processCap } from "./http-slots.js";
import {
  buildJudges,
  type GatewayCallMeta,
  type GatewayPhase,
  type Judges,
  type LocalPaths,
  localUpstreams,
  PHASES,
} from "./judges.js";
import type { GatewayMetrics } from "./metrics.js";
import { GatewaySession } from "./session.js";
import type { Downstream, GatewayContext } from "./session-core.js";
import {
  checkInstanceTls,
  instanceUrl,
  routeSessions,
  sessionCa,
  sessionSecret,
} from "./session-routing.js";
import { redisWindows, type SharedWindows } from "./shared-limits.js";
import { SharedUpstream } from "./shared-upstream.js";
import { StdioFront } from "./stdio-front.js";
import { upstreamProblems } from "./upstream-check.js";
import { exchangeConnector } from "./upstream-exchange.js";
import { UpstreamHealthBook } from "./upstream-health.js";
import { type GatewayViews, gatewayViews } from "./views.js";

/** Core strategies for the gateway's chains: in every phase's chain, or per phase. */
export type GatewayStrategies =
  | readonly Strategy<GatewayCallMeta>[]
  | Partial<Record<GatewayPhase, readonly Strategy<GatewayCallMeta>[]>>;

export interface GatewayOptions {
  config: GatewayConfig;
  /**
   * Extra core strategies (statistics, logging, a firewall, rules of your own): a list goes
   * into every phase's chain, a record into the phases it names. They run after the policy
   * (always first) and the config's `security_guards`, in the order given unless their
   * `priority` says otherwise; their decisions count like the guards' (a block is a -32003
   * denial naming the strategy). A `beforeCallAsync` strategy is awaited (one that fails denies).
   */
  strategies?: GatewayStrategies;
  /**
   * Per-phase strategies, as `strategies` (kept for existing callers; both may be given, these
   * come first).
   */
  judges?: Partial<Record<GatewayPhase, readonly Strategy[]>>;
  /**
   * `false`: do not load the config's `security_guards`; the caller loads them itself
   * (loadGatewayGuards, followGuardReloads) and passes them as `judges`. Default: loaded.
   */
  configGuards?: false;
  /** Where transpiled component guards are cached (default: the guards layer's cache). */
  guardCacheDir?: string;
  /** Where the gateway's own log lines go (default: stderr). */
  log?: (line: string) => void;
  /** Watch the config and policy files and reload on change (default true). */
  watch?: boolean;
  /** For stdio listen: the streams (default process.stdin / process.stdout). */
  stdio?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
  /** How many recent audit lines `views().decisions()` keeps (default 256). */
  recentDecisions?: number;
  /**
   * The process's prom-client registry, for the metrics (`telemetry.metrics`) to be registered
   * in, so that one registry serves every part of the process (default: one of the gateway's own).
   */
  metricsRegistry?: Registry;
}

export interface ReloadResult {
  ok: boolean;
  /** file:line:col messages of the rejected version. */
  errors: string[];
  changed: string[];
}

function version(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
        version: string;
      }
    ).version;
  } catch {
    return "0.0.0";
  }
}

/** The caller's own strategies per phase: `judges` (unless they stand for guards), then `strategies`. */
function ownStrategies(
  opts: GatewayOptions,
  withJudges: boolean,
): Partial<Record<GatewayPhase, readonly Strategy[]>> {
  const out: Partial<Record<GatewayPhase, Strategy[]>> = {};
  for (const phase of PHASES) {
    const list = withJudges ? [...(opts.judges?.[phase] ?? [])] : [];
    const s = opts.strategies;
    if (Array.isArray(s)) list.push(...(s as readonly Strategy[]));
    else if (s !== undefined)
      list.push(...((s as Partial<Record<GatewayPhase, readonly Strategy[]>>)[phase] ?? []));
    if (list.length > 0) out[phase] = list;
  }
  return out;
}

/**
 * One line on stderr: text a client or an upstream chose (a method, a name) is part of some
 * lines, so control characters are escaped (no ANSI sequence reaches the operator's terminal)
 * and a line break starts an indented continuation, never a line that reads as the gateway's.
 */
function stderrLog(l: string): void {
  const safe = l.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === "\t" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  process.stderr.write(`warden gateway: ${safe.replaceAll("\n", "\n  ")}\n`);
}

/** state.redis: the gateway's one Redis connection, its health changes logged. */
function openRedis(opts: GatewayOptions): RedisState {
  const log = opts.log ?? stderrLog;
  return RedisState.open(opts.config.state!.redis!, {
    onHealth: (h) =>
      log(
        h.state === "up"
          ? `state.redis: connected to ${h.url}`
          : `state.redis: ${h.url} is ${h.state}${h.error === undefined ? "" : ` (${h.error})`}: calls that need shared state are refused until it is back`,
      ),
  });
}

export class Gateway extends EventEmitter {
  config: GatewayConfig;
  readonly sessions = new Set<GatewaySession>();
  /** The upstreams with `sessions: shared`: one connection each, for every session. */
  readonly shared = new Map<string, SharedUpstream>();
  readonly #policy: PolicyHolder;
  readonly #paths: LocalPaths;
  #extra: Partial<Record<GatewayPhase, readonly Strategy[]>>;
  #own: Partial<Record<GatewayPhase, readonly Strategy[]>>;
  #judges: Judges;
  #audit: AuditLog | undefined;
  /** telemetry.otlp: the spans made from the audit lines (docs/telemetry.md). */
  #tracer: CallTracer | undefined;
  /** The last audit lines written, for the views. */
  readonly #recent: RecentLines;
  /** Each upstream's links and restart counts, for the views, /readyz and /metrics. */
  readonly #health = new UpstreamHealthBook();
  /** auth.oauth.token_endpoint: token exchange for upstreams with token_exchange. */
  #exchange: ReturnType<typeof exchangeConnector> | undefined;
  #views: GatewayViews | undefined;
  readonly #log: (line: string) => void;
  readonly #watcher: FileWatcher | undefined;
  metrics: GatewayMetrics | undefined;
  readonly version = version();
  http: HttpFront | undefined;
  stdio: StdioFront | undefined;
  /**
   * state.redis: the one connection to the state the instances share (rate-limit windows,
   * rug_pull pins, session routing); opened in the constructor, closed at stop.
   */
  redis: RedisState | undefined;
  address: AddressInfo | undefined;
  #stopping: Promise<void> | undefined;
  /** Stops following guard reloads and closes the guards `start` loaded. */
  #onStop: (() => void) | undefined;
  /** Stops following component upstreams' reloads. */
  #stopComponents: (() => void) | undefined;
  /** Tells component-upstream.ts which component upstreams this gateway's config has now. */
  #holdComponents: ((cfgs: GatewayConfig["upstreams"]) => Promise<void>) | undefined;
  /** state.redis: the shared rate-limit windows the judges take from (shared-limits.ts). */
  readonly #windows: SharedWindows | undefined;
  /** Resolves when the gateway has stopped (stdin closed, or stop() called). */
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;

  /** state.redis: rug_pull's pins shared with the other instances (opened by `start`). */
  #pins: RedisPins | undefined;

  /**
   * `own`: the user's strategies, kept after the guards when setJudges swaps the guards.
   * `shared`: the Redis connection and pins `start` opened before loading the guards.
   */
  private constructor(
    opts: GatewayOptions,
    own?: Partial<Record<GatewayPhase, readonly Strategy[]>>,
    shared?: { redis: RedisState; pins: RedisPins },
  ) {
    super();
    this.config = opts.config;
    this.#log = opts.log ?? stderrLog;
    const p = loadPolicyFileSync(opts.config.policy, { key: "policy" });
    if (!p.ok)
      throw new WardenError(
        "policy_load_failed",
        `The policy ${opts.config.policy} (from ${opts.config.file}) has ${p.errors.length} problem(s):\n${formatIssues(p.errors)}`,
        { category: "config", details: { errors: p.errors } },
      );
    this.#policy = new PolicyHolder(p.policy);
    this.#paths = { local: localUpstreams(opts.config.upstreams) };
    this.#extra = opts.judges ?? {};
    this.#own = own ?? {};
    const redis = opts.config.state?.redis;
    if (redis !== undefined) {
      this.redis = shared?.redis ?? openRedis(opts);
      this.#pins = shared?.pins;
      this.#windows = redisWindows(this.redis);
    }
    this.#judges = buildJudges(this.#policy, this.#paths, this.#strategies(), this.#windows);
    this.#recent = new RecentLines(opts.recentDecisions);
    this.#audit = this.#openAudit(opts.config.audit);
    this.#shareUpstreams();
    this.stopped = new Promise((r) => {
      this.#resolveStopped = r;
    });
    if (opts.watch !== false) {
      this.#watcher = new FileWatcher(() => this.reload());
      this.#watcher.set([opts.config.file, opts.config.policy].filter((f) => f !== "<inline>"));
    }
  }

  /** Validate everything, then listen. Throws config / policy / listen errors. */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    // configGuards: false: `judges` are the caller's guards (setJudges replaces them).
    if (opts.configGuards === false) return Gateway.#start(opts, ownStrategies(opts, false));
    const own = ownStrategies(opts, true);
    // security_guards: loaded before the gateway listens (a guard that cannot load fails the
    // start), so a library user gets them exactly as the CLI does.
    const hook = await import("./guards-hook.js");
    let ref: Gateway | undefined;
    // state.redis: rug_pull guards keep their pins in Redis, shared with the other instances
    const redis = opts.config.state?.redis === undefined ? undefined : openRedis(opts);
    const shared = redis && { redis, pins: new RedisPins(redis) };
    const guardOpts = {
      note: hook.auditNotes(() => ref),
      ...(shared ? { pins: shared.pins } : {}),
      // The guards' module cache: the option, else `<state.dir>/cache`.
      ...((opts.guardCacheDir ?? opts.config.state?.cacheDir) === undefined
        ? {}
        : { cacheDir: opts.guardCacheDir ?? opts.config.state?.cacheDir }),
    };
    let guards: Awaited<ReturnType<typeof hook.loadGatewayGuards>>;
    try {
      guards = await hook.loadGatewayGuards(opts.config, guardOpts);
    } catch (e) {
      shared?.pins.close();
      await shared?.redis.close();
      throw e;
    }
    let latest = guards;
    let g: Gateway;
    try {
      // a failed start stops the gateway, which closes the pins and Redis
      g = await Gateway.#start({ ...opts, judges: guards?.judges ?? {} }, own, shared);
    } catch (e) {
      guards?.set.close();
      throw e;
    }
    ref = g;
    const unfollow = hook.followGuardReloads(g, guards, {
      ...guardOpts,
      watchModules: opts.watch !== false,
      onSwap: (next) => {
        latest = next;
      },
    });
    g.#onStop = () => {
      unfollow();
      latest?.set.close();
    };
    return g;
  }

  static async #start(
    opts: GatewayOptions,
    own?: Partial<Record<GatewayPhase, readonly Strategy[]>>,
    shared?: { redis: RedisState; pins: RedisPins },
  ): Promise<Gateway> {
    const g = new Gateway(opts, own, shared);
    try {
      // A missing or non-executable upstream command is a start-up error, not a restart loop.
      const problems = upstreamProblems(opts.config.file, opts.config.upstreams);
      if (problems.length > 0)
        throw new WardenError(
          "upstream_failed",
          `${problems.length} upstream(s) cannot be started:\n${problems.join("\n")}`,
          { category: "config", details: { problems } },
        );
      if (opts.config.metrics) {
        g.metrics = new (await import("./metrics.js")).GatewayMetrics(opts.metricsRegistry);
        g.metrics.upstreams = () => g.views().upstreams();
        g.#judges = buildJudges(g.#policy, g.#paths, g.#strategies(), g.#windows);
      }
      if (g.metrics && g.redis)
        (await import("./state-metrics.js")).stateMetrics(g.metrics.registry, g.redis, "gateway");
      if (opts.config.otlp) await g.#trace(opts.config.otlp);
      if (opts.config.upstreams.some((u) => u.kind === "component")) await g.#followComponents();
      await g.#listen(opts);
    } catch (e) {
      await g.stop();
      throw e;
    }
    return g;
  }

  /**
   * telemetry.otlp: spans from every audit record (built in memory when no audit file is
   * written), client trace context read from `_meta` and at the HTTP front, sent upstream.
   */
  async #trace(otlp: OtlpSettings): Promise<void> {
    const { CallTracer, createExporter } = await import("../telemetry/index.js");
    const tracer = new CallTracer(otlp, this.version, await createExporter(otlp));
    this.#tracer = tracer;
    this.#audit ??= AuditLog.recordsOnly();
    this.#audit.onrecord = (rec, open) => tracer.record(rec, open);
    for (const u of this.shared.values()) u.link.tracing = tracer;
    if (this.metrics)
      (await import("./telemetry-metrics.js")).telemetryMetrics(
        this.metrics.registry,
        () => tracer.counts,
        () => tracer.openSpans,
      );
  }

  /** A component upstream's files changed: a log line and an audit line (kind component_reload). */
  async #followComponents(): Promise<void> {
    const { followComponentReloads, holdComponents } = await import("./component-upstream.js");
    if (this.#stopping !== undefined) return;
    this.#holdComponents = (cfgs) => holdComponents(this, cfgs);
    void this.#holdComponents(this.config.upstreams);
    if (this.#stopComponents !== undefined) return;
    const stop = followComponentReloads((cfg, r) => {
      if (!this.config.upstreams.some((u) => JSON.stringify(u) === JSON.stringify(cfg))) return;
      const what = `upstream "${cfg.name}" (${cfg.component})`;
      const reason = r.ok
        ? `${what}: reloaded ${r.components.join(", ")}`
        : `${what}: the changed component could not be loaded (${r.error?.code}: ${r.error?.message}); the previous one keeps serving`;
      this.#log(reason);
      this.#audit?.write({
        time: new Date().toISOString(),
        call_id: newCallId(),
        phase: "event",
        kind: "component_reload",
        caller: null,
        session: null,
        upstream: cfg.name,
        method: "components/reload",
        decision: r.ok ? "allow" : "deny",
        reason: reason.length <= 500 ? reason : `${reason.slice(0, 500)}<…>`,
        ...(r.error === undefined ? {} : { code: r.error.code }),
        trigger: "file",
        duration_ms: 0,
      });
    });
    this.#stopComponents = stop;
  }

  async #listen(opts: GatewayOptions): Promise<void> {
    const l = this.config.listen;
    if (l.kind === "stdio") {
      const front = new StdioFront(
        opts.stdio?.input as never,
        opts.stdio?.output as never,
        this.config.caller,
        this.config.limits,
      );
      front.log = this.#log;
      this.stdio = front;
      const session = this.#newSession(front);
      front.onmessage = (m) => session.receive(m);
      front.onrefused = (r) => session.refused(r);
      front.onclose = () => void this.stop();
      front.start();
      this.#warmShared();
      return;
    }
    const tokens = frontTokens(this.config.auth, this.config.file);
    const oauth = this.config.auth?.oauth;
    if (oauth?.tokenEndpoint !== undefined) this.#exchange = exchangeConnector(oauth);
    const front = frontOAuth(this.config.auth, tokens);
    this.http = new HttpFront(l, (down) => this.#newSession(down), tokens, front);
    this.http.log = this.#log;
    if (this.#tracer) this.http.withTrace = (await import("../telemetry/index.js")).withClientTrace;
    this.http.onrefused = (r, caller) => this.#refused(r, caller);
    if (this.config.limits) {
      this.http.queueLimit = this.config.limits.clientQueueBytes;
      this.http.jsonDepth = this.config.limits.jsonDepth;
    }
    // one process per session for each per-session stdio upstream: max_processes bounds them
    this.http.procs = processCap(this.config.upstreams);
    this.http.health = this.views();
    if (this.redis !== undefined) {
      const redis = this.redis;
      this.http.stateHealth = () => redis.report();
    }
    if (this.metrics && this.config.metrics) {
      const reg = this.metrics.registry;
      this.http.routes.set(this.config.metrics.path, (res) => {
        reg
          .metrics()
          .then((text) => res.writeHead(200, { "content-type": reg.contentType }).end(text));
      });
    }
    const routing = this.config.state?.sessions;
    const secret = routing === undefined ? undefined : sessionSecret(routing);
    const ca = routing === undefined ? undefined : sessionCa(routing);
    if (routing !== undefined) checkInstanceTls(routing, l);
    this.address = await this.http.listen();
    if (routing !== undefined && secret !== undefined) this.#routeSessions(l, routing, secret, ca);
    this.#warmShared();
  }

  /** state.sessions: sessions of other instances are forwarded to them (docs/scale-out.md). */
  #routeSessions(
    l: HttpListenConfig,
    cfg: SessionRoutingConfig,
    secret: string,
    ca: string | undefined,
  ): void {
    const settings = this.config.state?.redis;
    if (settings === undefined || this.http === undefined || this.address === undefined) return;
    this.redis ??= RedisState.open(settings);
    const redis = this.redis;
    const fwd = routeSessions(this.http, redis.client, {
      cfg,
      secret,
      self: instanceUrl(cfg, l, this.address.port),
      ...(ca === undefined ? {} : { ca }),
      maxBody: l.limits?.bodyBytes ?? HTTP_LIMITS.bodyBytes,
      prefix: redis.keyPrefix,
      log: this.#log,
      unavailable: () => redis.refused("session_route"),
    });
    // Redis back (it may have restarted empty): write this instance's records at once
    redis.client.on("ready", () => fwd.refreshNow());
  }

  /** Start the shared upstreams now, so that they are up (or restarting) before any session. */
  #warmShared(): void {
    for (const u of this.shared.values()) u.warm();
  }

  #context(): GatewayContext {
    return {
      upstreams: this.config.upstreams,
      restart: this.config.restart,
      limits: this.config.limits,
      judges: () => this.#judges,
      audit: () => this.#audit,
      policyFile: () => this.#policy.current.file,
      log: this.#log,
      decided: this.metrics ? (r, ends) => this.metrics!.record(r, ends) : undefined,
      hostCalls: this.metrics ? (u, c) => this.metrics!.hosted.record(u, c) : undefined,
      version: this.version,
      ...(this.#exchange === undefined ? {} : { exchangeConnect: this.#exchange.connect }),
      callerIncludesClientName: this.config.callerIncludesClientName === true,
      shared: (cfg) => (cfg.sessions === "shared" ? this.shared.get(cfg.name) : undefined),
      // a session's channel to a shared upstream is not followed: the shared link is
      linkMade: (link) => {
        if (link.cfg.sessions !== "shared") this.#health.track(link);
      },
      ...(this.#tracer === undefined ? {} : { tracing: this.#tracer }),
    };
  }

  /**
   * Make the shared connections of the upstreams with `sessions: shared` (started by the first
   * session that connects); returns the ones the new config no longer has as they were.
   */
  #shareUpstreams(): SharedUpstream[] {
    const old = new Map(this.shared);
    this.shared.clear();
    for (const u of this.config.upstreams) {
      if (u.sessions !== "shared") continue;
      const prev = old.get(u.name);
      if (prev !== undefined && JSON.stringify(prev.cfg) === JSON.stringify(u)) {
        old.delete(u.name);
        this.shared.set(u.name, prev);
        continue;
      }
      const shared = new SharedUpstream(u, this.config.restart, {
        log: this.#log,
        audit: () => this.#audit,
        version: this.version,
        ...(this.config.limits === undefined ? {} : { limits: this.config.limits }),
      });
      this.#health.track(shared.link);
      shared.link.tracing = this.#tracer;
      this.shared.set(u.name, shared);
    }
    return [...old.values()];
  }

  /** A message refused at the HTTP front that names no session: its line (session null). */
  #refused(r: Refusal, caller: string): void {
    const rec = refusalEntry(r);
    this.metrics?.record(rec, true);
    this.#audit?.write({
      time: new Date().toISOString(),
      call_id: newCallId(),
      caller,
      session: r.session ?? null,
      ...rec,
    });
  }

  #newSession(down: Downstream): GatewaySession {
    const s = new GatewaySession(this.#context(), down);
    this.sessions.add(s);
    this.metrics?.sessions.set(this.sessions.size);
    const close = s.close.bind(s);
    s.close = async () => {
      this.sessions.delete(s);
      this.metrics?.sessions.set(this.sessions.size);
      await close();
    };
    return s;
  }

  /** Replace the guard strategies of some phases (the policy stays first). */
  setJudges(extra: Partial<Record<GatewayPhase, readonly Strategy[]>>): void {
    this.#extra = extra;
    this.#judges = buildJudges(this.#policy, this.#paths, this.#strategies(), this.#windows);
  }

  /** The guards' strategies, then the user's own, per phase; the metrics' statistics last. */
  #strategies(): Partial<Record<GatewayPhase, readonly Strategy[]>> {
    const out: Partial<Record<GatewayPhase, readonly Strategy[]>> = { ...this.#extra };
    for (const [p, list] of Object.entries(this.#own) as [GatewayPhase, readonly Strategy[]][])
      out[p] = [...(out[p] ?? []), ...list];
    if (this.metrics !== undefined)
      out.tool_invoke = [...(out.tool_invoke ?? []), this.metrics.statistics];
    return out;
  }

  get judges(): Judges {
    return this.#judges;
  }

  get audit(): AuditLog | undefined {
    return this.#audit;
  }

  /** The policy in force now (a reload swaps it): what the admin API's /v1/check judges by. */
  get policy(): CompiledPolicy {
    return this.#policy.current;
  }

  /**
   * Read the config and policy files again. A valid new version is swapped in at once (the
   * policy keeps its rate-limit state; open sessions get the new upstreams); an invalid one
   * is rejected with its errors and the old one keeps running.
   */
  reload(): ReloadResult {
    const r = this.#reload();
    this.metrics?.reloads.inc({ outcome: r.ok ? "ok" : "rejected" });
    if (r.ok) {
      if (r.changed.length > 0) this.#log(`reloaded ${r.changed.join(" and ")}`);
    } else
      this.#log(`rejected the new version, the old one keeps running:\n${r.errors.join("\n")}`);
    this.emit("reload", r);
    return r;
  }

  #reload(): ReloadResult {
    const file = this.config.file;
    let next = this.config;
    if (file !== "<inline>") {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        return { ok: false, errors: [`${file}: ${(e as Error).message}`], changed: [] };
      }
      const c = parseConfig(text, file);
      if (!c.ok) return { ok: false, errors: formatIssues(c.errors).split("\n"), changed: [] };
      next = c.config;
    }
    // New or changed upstreams must be startable (the running ones were checked at start).
    const before = new Set(this.config.upstreams.map((u) => JSON.stringify(u)));
    const problems = upstreamProblems(
      next.file,
      next.upstreams,
      (u) => !before.has(JSON.stringify(u)),
    );
    if (problems.length > 0) return { ok: false, errors: problems, changed: [] };
    const p = loadPolicyFileSync(next.policy, {
      key: "policy",
      state: this.#policy.current.state,
    });
    if (!p.ok) return { ok: false, errors: formatIssues(p.errors).split("\n"), changed: [] };
    // auth is applied at once, or the reload is refused (docs/identity.md, "Reload")
    const auth = this.http === undefined ? undefined : authReload(this.config, next, this.http.cfg);
    if (auth?.ok === false) return { ok: false, errors: auth.errors, changed: [] };
    const changed: string[] = [];
    const sameConfig =
      JSON.stringify({ ...next, file: 0 }) === JSON.stringify({ ...this.config, file: 0 });
    if (!sameConfig) changed.push("config");
    changed.push("policy");
    if (JSON.stringify(next.listen) !== JSON.stringify(this.config.listen))
      this.#log(
        "listen changed: restart the gateway to apply it (the rest of the new config is applied)",
      );
    if (auth?.swap !== undefined && this.http !== undefined) {
      const o = next.auth?.oauth;
      this.#exchange = o?.tokenEndpoint === undefined ? undefined : exchangeConnector(o);
      const ended = this.http.setAuth(auth.swap.tokens, auth.swap.oauth, auth.swap.keep);
      this.#log(
        `auth changed: applied (${auth.swap.tokens.length} static token(s)${o === undefined ? "" : ", auth.oauth"}); ${ended} session(s) whose caller it no longer vouches for were ended`,
      );
    }
    if (JSON.stringify(next.state?.redis) !== JSON.stringify(this.config.state?.redis))
      this.#log(
        "state.redis changed: restart the gateway to apply it (the Redis connection is opened at start; the rest of the new config is applied)",
      );
    if (JSON.stringify(next.audit) !== JSON.stringify(this.config.audit)) {
      this.#audit?.close();
      this.#audit = this.#openAudit(next.audit);
    }
    const previous = this.config;
    this.#policy.swap(p.policy); // keeps the counters of unchanged rate-limited rules
    this.#paths.local = localUpstreams(next.upstreams);
    this.config = next;
    if (JSON.stringify(next.otlp) !== JSON.stringify(previous.otlp))
      this.#log("telemetry.otlp changed: it takes effect when the gateway is started again");
    this.#watcher?.set([next.file, next.policy].filter((f) => f !== "<inline>"));
    const upstreamsChanged = JSON.stringify(next.upstreams) !== JSON.stringify(previous.upstreams);
    const unshared = upstreamsChanged ? this.#shareUpstreams() : [];
    if (upstreamsChanged) {
      this.#health.retain(new Set(next.upstreams.map((u) => u.name)));
      for (const u of this.shared.values()) u.warm();
    }
    if (this.http !== undefined) this.http.procs = processCap(next.upstreams);
    for (const s of this.sessions) {
      if (upstreamsChanged)
        s.applyUpstreams(next.upstreams, next.restart).catch((e: Error) => this.#log(e.message));
      else s.listsChanged();
    }
    // after the sessions let go of them (applyUpstreams closes changed links at once)
    for (const u of unshared) u.close().catch(() => {});
    // component servers the new config no longer has: closed once their links are
    if (upstreamsChanged && this.#stopping === undefined) {
      if (this.#holdComponents !== undefined) this.#holdComponents(next.upstreams).catch(() => {});
      else if (next.upstreams.some((u) => u.kind === "component"))
        this.#followComponents().catch((e: Error) => this.#log(e.message));
    }
    return { ok: true, errors: [], changed };
  }

  /**
   * The audit writer of `cfg`, whose lines the views' recent decisions keep; without `cfg` and
   * with telemetry, one that writes no file (its records make the spans).
   */
  #openAudit(cfg: AuditConfig | undefined): AuditLog | undefined {
    const tracer = this.#tracer;
    if (cfg === undefined) {
      if (tracer === undefined) return undefined;
      const records = AuditLog.recordsOnly();
      records.onrecord = (rec, open) => tracer.record(rec, open);
      return records;
    }
    const log = new AuditLog(cfg);
    const recent = this.#recent;
    log.onwrite = (line) => recent.push(line);
    if (tracer) log.onrecord = (rec, open) => tracer.record(rec, open);
    return log;
  }

  /**
   * Read-only views of this gateway (pins, upstream health, readiness, recent audit lines) for a
   * layer above it, such as an admin API: each call returns a fresh frozen copy (views.ts).
   */
  views(): GatewayViews {
    this.#views ??= gatewayViews({
      config: () => this.config,
      shared: this.shared,
      health: this.#health,
      recent: this.#recent,
      redisPins: () => this.#pins,
    });
    return this.#views;
  }

  /** Reopen the audit file (after rotation; the CLI calls this on SIGHUP). */
  reopenAudit(): void {
    this.#audit?.reopen();
  }

  /** Stop: close the front, every session (stopping upstream children), flush the audit. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#watcher?.close();
      if (this.http) await this.http.close();
      await Promise.all([...this.sessions].map((s) => s.close()));
      await Promise.all([...this.shared.values()].map((u) => u.close()));
      this.#onStop?.();
      this.#stopComponents?.();
      // the component servers no other gateway uses: worker threads ended, watchers closed
      await this.#holdComponents?.([]).catch(() => {});
      // the spans of the last lines, flushed within telemetry.otlp.timeout_ms
      await this.#tracer?.shutdown().catch(() => {});
      this.#audit?.close();
      this.#pins?.close();
      await this.redis?.close();
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}
