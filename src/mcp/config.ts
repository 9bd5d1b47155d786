import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isMap, LineCounter, type Node, parseDocument } from "yaml";
import { WardenError } from "../core/errors.js";
import { defaultStateDir, STATE_FILES } from "../core/state-dir.js";
import { parseGuardsConfig } from "../guards/config.js";
import type { OAuthSettings } from "../identity/index.js";
import {
  checkSchema,
  dropNulls,
  type SchemaProblem,
  shippedValidator,
} from "../policy/json-schema.js";
import { MAX_NESTING, tooDeepYaml } from "../policy/nesting.js";
import { nodeAt } from "../policy/yaml-nodes.js";
// settings.js, not index.js: the config must not load ioredis for a gateway without state.redis.
import { REDIS_DEFAULTS, type RedisSettings, redisUrlProblem } from "../state/settings.js";
import type { ConfigIssueCode } from "./codes.js";
import { adminKeys } from "./config-admin.js";
import { oauthKeys, tokenExchangeKeys } from "./config-oauth.js";
import { sessionRoutingKeys } from "./config-sessions.js";
import { otlpKeys } from "./config-telemetry.js";
import {
  type ArgumentsMode,
  type AuthConfig,
  type AuthToken,
  type ConfigIssue,
  type GatewayConfig,
  HTTP_LIMITS,
  type HttpLimits,
  type HttpListenConfig,
  type ListenConfig,
  MESSAGE_LIMITS,
  type MessageLimits,
  type Paths,
  REQUEST_TIMEOUT_MS,
  type StateConfig,
  type UpstreamConfig,
  type UpstreamSessions,
} from "./config-types.js";
import { prefixClash, uriPrefixProblem } from "./naming.js";

type Path = (string | number)[];
type Obj = Record<string, unknown>;

// The keys, their types, ranges and defaults are schemas/warden.schema.json (validated first,
// the file editors read); what follows builds the config and checks what a schema cannot say.
// security_guards is validated by the guards layer's parseGuardsConfig (same document and
// LineCounter, so its errors carry file:line:col like the rest) at start, --check and reload.
/**
 * One parsed warden.yaml: collects every problem with its position, and reads values the
 * schema pass has checked (a value of the wrong type reads as absent: the schema said so).
 */
class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  constructor(
    readonly file: string,
    readonly doc: ReturnType<typeof parseDocument>,
    readonly lines: LineCounter,
  ) {}

  /** A problem at `path` (its key for unknown_key); `name` overrides the key it names. */
  add(path: Path, message: string, code: ConfigIssueCode = "invalid_value", name?: Path): void {
    const node = nodeAt(this.doc.contents as Node | null, path, code === "unknown_key");
    const pos = this.lines.linePos(node?.range ? node.range[0] : 0);
    const key =
      (name ?? path)
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`))
        .join("") || "(top)";
    // One problem of a kind per key: the schema's, when a check in code would say it again.
    if (this.issues.some((i) => i.key === key && i.code === code)) return;
    this.issues.push({ file: this.file, line: pos.line, col: pos.col, code, key, message });
  }

  /** A key at its old place: accepted, with a warning naming the new one. */
  deprecated(path: Path, message: string): void {
    const node = nodeAt(this.doc.contents as Node | null, path, true);
    const pos = this.lines.linePos(node?.range ? node.range[0] : 0);
    const key = path
      .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`))
      .join("");
    const code = "deprecated_key";
    this.warnings.push({ file: this.file, line: pos.line, col: pos.col, code, key, message });
  }

  /** A problem the schema pass found. */
  problem(p: SchemaProblem): void {
    const code =
      p.kind === "unknown_key"
        ? "unknown_key"
        : p.kind === "missing_key"
          ? "missing_key"
          : "invalid_value";
    this.add([...p.at], p.message, code, [...p.path]);
  }

  obj(v: unknown): Obj | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
  }

  str(o: Obj, k: string): string | undefined {
    const v = o[k];
    return typeof v === "string" && v !== "" ? v : undefined;
  }

  strList(o: Obj, k: string): string[] {
    const v = o[k];
    return Array.isArray(v) ? v.map(String) : [];
  }

  strMap(o: Obj, k: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, val] of Object.entries(this.obj(o[k]) ?? {})) out[name] = String(val);
    return out;
  }

  int(o: Obj, k: string, dflt: number): number {
    const v = o[k];
    return typeof v === "number" && Number.isInteger(v) ? v : dflt;
  }
}

function listen(c: Checker, v: unknown, abs: (p: string) => string): ListenConfig {
  const o = c.obj(v);
  if (o === undefined || o.http === undefined) return { kind: "stdio" };
  if (o.stdio !== undefined)
    c.add(["listen"], "listen takes one of stdio or http, not both.", "conflicting_keys");
  const h = c.obj(o.http) ?? {};
  const http: HttpListenConfig = {
    kind: "http",
    host: c.str(h, "host") ?? "127.0.0.1",
    port: portOverride(c) ?? c.int(h, "port", 8931),
    path: c.str(h, "path") ?? "/mcp",
    allowedHosts: c.strList(h, "allowed_hosts"),
    allowedOrigins: c.strList(h, "allowed_origins"),
    bearerEnv: c.str(h, "bearer_env"),
    sessionIdleMs: c.int(h, "session_idle_seconds", 600) * 1000,
    jsonResponse: h.json_response === true,
    limits: httpLimits(c, h),
  };
  const t = c.obj(h.tls);
  const cert = t && c.str(t, "cert");
  const key = t && c.str(t, "key");
  if (cert && key) (http as { tls?: unknown }).tls = { cert: abs(cert), key: abs(key) };
  if (h.allow_insecure === true) (http as { allowInsecure?: boolean }).allowInsecure = true;
  return http;
}

/**
 * `WARDEN_PORT` (set by `warden gateway --port`) replaces listen.http.port, so a config that
 * pins a port can run beside another copy of itself, or on a free port (0) in tests.
 */
/** A component upstream's `instance` (the schema checked the value); `stateful: true` is "stateful". */
function componentInstance(
  c: Checker,
  o: Record<string, unknown>,
  path: (string | number)[],
  sessions: UpstreamSessions,
): "per-call" | "per-session" | "stateful" {
  const mode = o.instance === "per-session" || o.instance === "stateful" ? o.instance : "per-call";
  // A shared upstream is one MCP session for every client: one per-session instance would
  // carry one client's state into another's calls.
  if (mode === "per-session" && sessions === "shared")
    c.add(
      [...path, "sessions"],
      "sessions: shared and instance: per-session disagree: a shared upstream is one MCP session for every client, so they would all share one instance (one client's state would reach another's calls). Remove sessions: shared (each client session gets its own instance), or use instance: per-call.",
      "conflicting_keys",
    );
  if (o.stateful === true && o.instance !== undefined && mode !== "stateful")
    c.add(
      [...path, "instance"],
      `stateful: true and instance: ${mode} disagree; keep one (stateful: true is instance: stateful).`,
      "conflicting_keys",
    );
  return o.stateful === true ? "stateful" : mode;
}

function portOverride(c: Checker): number | undefined {
  const v = process.env.WARDEN_PORT;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (/^\d{1,5}$/.test(v) && n <= 65535) return n;
  c.add(
    ["listen", "http", "port"],
    `WARDEN_PORT (or --port) is "${v}", not a port: give a number from 0 to 65535 (0: any free port).`,
    "invalid_value",
  );
  return undefined;
}

/** Loopback addresses: a listener there is reachable from this host only. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * `auth: { tokens: [{ name, env }] }`; listen.http.bearer_env (deprecated) is read as a token
 * named "default". Listening beyond loopback needs TLS and tokens, or allow_insecure: true.
 */
function authKeys(
  c: Checker,
  root: Obj,
  l: ListenConfig,
  oauth: OAuthSettings | undefined,
): { auth?: AuthConfig } {
  const withOauth = (tokens: AuthToken[]) =>
    tokens.length > 0 || oauth !== undefined
      ? { auth: { tokens, ...(oauth === undefined ? {} : { oauth }) } }
      : {};
  const tokens: AuthToken[] = [];
  const list = c.obj(root.auth)?.tokens;
  if (Array.isArray(list))
    for (const [i, t] of list.entries()) {
      const o = c.obj(t) ?? {};
      const name = c.str(o, "name");
      const env = c.str(o, "env");
      if (name && tokens.some((x) => x.name === name))
        c.add(["auth", "tokens", i, "name"], `Two tokens are named "${name}".`, "duplicate_name");
      if (name && env) tokens.push({ name, env });
    }
  if (l.kind !== "http") return withOauth(tokens);
  if (l.bearerEnv !== undefined) {
    const at = ["listen", "http", "bearer_env"];
    if (root.auth !== undefined && !tokens.some((t) => t.env === l.bearerEnv))
      c.add(
        at,
        "listen.http.bearer_env and auth.tokens both name tokens: move it to auth.tokens as { name: default, env: ... }.",
        "conflicting_keys",
      );
    else if (root.auth !== undefined)
      c.deprecated(
        at,
        "listen.http.bearer_env is deprecated and auth.tokens already names its variable: delete it.",
      );
    else {
      tokens.push({ name: "default", env: l.bearerEnv });
      c.deprecated(
        at,
        `listen.http.bearer_env is deprecated: write auth: { tokens: [{ name: default, env: ${l.bearerEnv} }] } instead.`,
      );
    }
  }
  if (!isLoopback(l.host) && l.allowInsecure !== true) {
    const missing = [
      l.tls === undefined ? "TLS (listen.http.tls)" : "",
      tokens.length === 0 && oauth === undefined ? "tokens (auth.tokens)" : "",
    ]
      .filter((x) => x !== "")
      .join(" and ");
    if (missing !== "")
      c.add(
        ["listen", "http", "host"],
        `listen.http.host ${l.host} is reachable beyond this host, without ${missing}: add them, listen on 127.0.0.1, or set listen.http.allow_insecure: true if a proxy in front provides them.`,
        "insecure_listen",
      );
  }
  return withOauth(tokens);
}

function httpLimits(c: Checker, h: Obj): HttpLimits {
  const d = HTTP_LIMITS;
  const s = (k: string, dflt: number) => c.int(h, k, dflt / 1000) * 1000;
  return {
    ...d,
    bodyBytes: c.int(h, "max_body_bytes", d.bodyBytes),
    headerBytes: c.int(h, "max_header_bytes", d.headerBytes),
    headersTimeoutMs: s("headers_timeout_seconds", d.headersTimeoutMs),
    requestTimeoutMs: s("request_timeout_seconds", d.requestTimeoutMs),
    keepAliveMs: s("keep_alive_seconds", d.keepAliveMs),
    sessions: c.int(h, "max_sessions", d.sessions),
    sessionsPerCaller: c.int(h, "max_sessions_per_token", d.sessionsPerCaller),
    connections: c.int(h, "max_connections", d.connections),
    connectionsPerAddress: c.int(h, "max_connections_per_address", d.connectionsPerAddress),
  };
}

function upstreams(c: Checker, v: unknown, base: string, policy: string): UpstreamConfig[] {
  if (!Array.isArray(v)) return [];
  const out: UpstreamConfig[] = [];
  const seen = new Set<string>();
  for (const [i, u] of v.entries()) {
    const path = ["upstreams", i];
    const o = c.obj(u);
    if (!o) continue;
    const isHttp = "url" in o;
    const name = c.str(o, "name") ?? `#${i}`;
    const clash = prefixClash(name, seen);
    if (clash !== undefined) c.add([...path, "name"], clash, "ambiguous_name");
    if (seen.has(name))
      c.add(
        [...path, "name"],
        `Two upstreams are named "${name}"; names must be unique.`,
        "duplicate_name",
      );
    seen.add(name);
    const prefix = typeof o.prefix === "boolean" ? o.prefix : v.length > 1;
    // a prefixed upstream's resources are <name>+<uri>: its name must be able to be a URI scheme
    const badPrefix =
      prefix && clash === undefined && typeof o.name === "string"
        ? uriPrefixProblem(name)
        : undefined;
    if (badPrefix !== undefined) c.add([...path, "name"], badPrefix, "invalid_value");
    const paths: Paths =
      (o.paths ?? (isHttp ? "remote" : "local")) === "local" ? "local" : "remote";
    const sessions: UpstreamSessions = o.sessions === "shared" ? "shared" : "per_session";
    const requestTimeoutMs = c.int(o, "request_timeout_ms", REQUEST_TIMEOUT_MS);
    const maxAnswerBytes = c.int(o, "max_answer_bytes", 16 * 1024 * 1024);
    if (!isHttp && "component" in o) {
      // WebAssembly components served in-process (src/hosted): the gateway's policy and the
      // upstream's own must both allow a host call.
      const component = resolve(base, c.str(o, "component") ?? ".");
      const own = c.str(o, "policy");
      out.push({
        kind: "component",
        name,
        component,
        policies: [policy, ...(own === undefined ? [] : [resolve(base, own)])].filter(
          (p) => p !== "",
        ),
        stateful: o.stateful === true,
        instance: componentInstance(c, o, path, sessions),
        maxInstances: c.int(o, "max_instances", 16),
        instancesMemoryMb: c.int(o, "instances_memory_mb", 1024),
        maxQueued: c.int(o, "max_queued", 64),
        maxTasks: c.int(o, "max_tasks", 16),
        maxTaskResultBytes: c.int(o, "max_task_result_bytes", 1024 * 1024),
        maxSessionTaskResultBytes: c.int(o, "max_session_task_result_bytes", 16 * 1024 * 1024),
        command: "warden-component",
        args: [component],
        prefix,
        paths,
        requestTimeoutMs,
        maxAnswerBytes,
        sessions,
      });
      continue;
    }
    if (isHttp) {
      const url = c.str(o, "url") ?? "http://invalid";
      try {
        const p = new URL(url);
        if (p.protocol !== "http:" && p.protocol !== "https:") throw new Error("scheme");
      } catch {
        c.add([...path, "url"], `"${url}" is not an http:// or https:// URL.`);
      }
      out.push({
        maxAnswerBytes,
        kind: "http",
        name,
        url,
        headers: c.strMap(o, "headers"),
        bearerEnv: c.str(o, "bearer_env"),
        prefix,
        paths,
        requestTimeoutMs,
        sessions,
      });
    } else {
      const cwd = c.str(o, "cwd");
      out.push({
        kind: "stdio",
        name,
        command: c.str(o, "command") ?? "",
        args: c.strList(o, "args"),
        env: c.strMap(o, "env"),
        // Default: warden.yaml's folder, so relative commands and arguments (node ./server.mjs
        // ./data) mean the same files from whatever directory the gateway is started.
        cwd: resolve(base, cwd ?? "."),
        prefix,
        paths,
        requestTimeoutMs,
        maxAnswerBytes,
        maxProcesses: c.int(o, "max_processes", 32),
        maxProcessesWaitMs: c.int(o, "max_processes_wait_ms", 2000),
        sessions,
      });
    }
  }
  return out;
}

/** `caller` (stdio: who the client is) and `caller_includes_client_name` (opt-in). */
function callerKeys(
  c: Checker,
  root: Obj,
  l: ListenConfig,
): { caller: string; callerIncludesClientName: boolean } {
  const caller = c.str(root, "caller");
  if (caller !== undefined && l.kind === "http")
    c.add(
      ["caller"],
      "caller names the client of a stdio gateway; over HTTP the caller is the name of the token the client sent. Remove caller, or use listen: stdio.",
      "conflicting_keys",
    );
  return {
    caller: caller ?? "stdio",
    callerIncludesClientName: root.caller_includes_client_name === true,
  };
}

/** `limits:` message sizes, nesting and the queue towards a client (defaults: MESSAGE_LIMITS). */
function limits(c: Checker, v: unknown): MessageLimits {
  const o = c.obj(v);
  if (!o) return MESSAGE_LIMITS;
  const d = MESSAGE_LIMITS;
  return {
    clientMessageBytes: c.int(o, "client_message_bytes", d.clientMessageBytes),
    // At most 1000 (the schema): the shape check and every judge walk a message recursively,
    // and 6,000 levels overflowed the stack (a config allowing that would let one message end
    // the gateway).
    jsonDepth: c.int(o, "json_depth", d.jsonDepth),
    clientQueueBytes: c.int(o, "client_queue_bytes", d.clientQueueBytes),
  };
}

export interface ParseConfigOptions {
  /** `upstreams` may be left out (warden admin runs the admin API without a gateway). */
  readonly upstreamsOptional?: boolean;
}

/** Validate warden.yaml text; returns the frozen config or every issue found. */
export function parseConfig(
  text: string,
  file: string,
  opts: ParseConfigOptions = {},
): { ok: true; config: GatewayConfig } | { ok: false; errors: ConfigIssue[] } {
  // The composer recurses once per level: a text nested too deep is refused before it runs.
  const deep = tooDeepYaml(text);
  if (deep !== undefined)
    return {
      ok: false,
      errors: [
        {
          file,
          line: deep.line,
          col: deep.col,
          code: "too_deep",
          key: deep.key,
          message: `nests deeper than ${MAX_NESTING} levels of mappings and sequences (the limit of warden.yaml): flatten it`,
        },
      ],
    };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const c = new Checker(file, doc, lines);
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    c.issues.push({
      file,
      line: pos.line,
      col: pos.col,
      code: "yaml_syntax",
      key: "(yaml)",
      message: e.message.split("\n")[0] ?? e.message,
    });
  }
  if (c.issues.length > 0) return { ok: false, errors: c.issues };
  const root = schemaPass(c, doc.toJS(), opts);
  if (!root) return { ok: false, errors: c.issues };
  const base = file === "<inline>" ? process.cwd() : dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const policy = c.str(root, "policy");
  const state = stateKeys(c, root, abs);
  let audit: GatewayConfig["audit"];
  // `audit: true`, or a mapping without `file`: <state.dir>/audit.jsonl.
  const a = root.audit === true ? {} : c.obj(root.audit);
  if (a) {
    const f = c.str(a, "file");
    audit = {
      file: f === undefined ? join(state.dir, STATE_FILES.audit) : f === "-" ? "-" : abs(f),
      arguments: (c.str(a, "arguments") ?? "redacted") as ArgumentsMode,
      ...(a.max_depth === undefined ? {} : { maxDepth: c.int(a, "max_depth", 8) }),
      ...(a.max_bytes === undefined ? {} : { maxBytes: c.int(a, "max_bytes", 8192) }),
      ...(a.level === "all" ? { level: "all" as const } : {}),
    };
  }
  const metrics = telemetryKeys(c, root);
  const otlp = otlpKeys(c, root);
  const r = c.obj(root.restart) ?? {};
  const restart = {
    initialMs: c.int(r, "initial_ms", 200),
    maxMs: c.int(r, "max_ms", 10_000),
    maxAttempts: c.int(r, "max_attempts", 20),
  };
  const listenCfg = listen(c, root.listen, abs);
  const oauth = oauthKeys(c, root, abs, listenCfg);
  const auth = authKeys(c, root, listenCfg, oauth);
  const sessions = sessionRoutingKeys(c, root, listenCfg, abs);
  const config: GatewayConfig = {
    file,
    listen: listenCfg,
    ...callerKeys(c, root, listenCfg),
    ...auth,
    ...adminKeys(c, root, abs, auth.auth?.tokens.length ?? 0),
    policy: policy === undefined ? "" : abs(policy),
    ...(typeof root.rules === "string" && root.rules !== "" ? { rules: abs(root.rules) } : {}),
    audit,
    metrics,
    ...(otlp === undefined ? {} : { otlp }),
    restart,
    limits: limits(c, root.limits),
    upstreams: upstreams(c, root.upstreams, base, policy === undefined ? "" : abs(policy)),
    state: sessions === undefined ? state : { ...state, sessions },
  };
  tokenExchangeKeys(c, root.upstreams, config.upstreams as UpstreamConfig[], oauth);
  const stateDir = c.str(c.obj(root.state) ?? {}, "dir");
  const guards = parseGuardsConfig(
    isMap(doc.contents) ? (doc.contents.get("security_guards", true) ?? null) : null,
    file,
    { lineCounter: lines, baseDir: base, ...(stateDir ? { stateDir: abs(stateDir) } : {}) },
  );
  c.issues.push(...guards.issues);
  c.warnings.push(...(guards.warnings ?? []));
  if (c.warnings.length > 0) (config as { warnings?: unknown }).warnings = c.warnings;
  if (guards.guards.length > 0) (config as { guards?: unknown }).guards = guards.guards;
  if (config.metrics && config.listen.kind !== "http")
    c.add(
      root.metrics === undefined ? ["telemetry", "metrics"] : ["metrics"],
      "metrics are served over HTTP: they need listen: { http: ... }.",
      "conflicting_keys",
    );
  if (c.issues.length > 0) {
    c.issues.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors: c.issues };
  }
  return { ok: true, config: deepFreeze(config) };
}

/**
 * `telemetry.metrics` (the top-level `metrics` is its deprecated old place: accepted with a
 * warning, refused when both are written and differ).
 */
function telemetryKeys(c: Checker, root: Obj): GatewayConfig["metrics"] {
  const read = (v: unknown) => {
    const m = v === true ? {} : c.obj(v);
    return m ? { path: c.str(m, "path") ?? "/metrics" } : undefined;
  };
  const tele = c.obj(root.telemetry) ?? {};
  const now = read(tele.metrics);
  if (root.metrics === undefined) return now;
  const old = read(root.metrics);
  if (tele.metrics !== undefined && now?.path !== old?.path) {
    c.add(
      ["metrics"],
      "metrics and telemetry.metrics are both written and differ: keep telemetry.metrics and delete metrics.",
      "conflicting_keys",
    );
    return now;
  }
  c.deprecated(
    ["metrics"],
    tele.metrics === undefined
      ? "metrics is deprecated: write it under telemetry (telemetry: { metrics: ... })."
      : "metrics is deprecated and telemetry.metrics says the same: delete metrics.",
  );
  return now ?? old;
}

/**
 * `state: { dir }`: relative to warden.yaml; default the XDG state directory (core's
 * `defaultStateDir`), never the package or the cwd. The guards' caches are `<dir>/cache`.
 */
function stateKeys(c: Checker, root: Obj, abs: (p: string) => string): StateConfig {
  const written = c.str(c.obj(root.state) ?? {}, "dir");
  const dir = written === undefined ? defaultStateDir() : abs(written);
  // Before state.dir defaulted to the XDG state directory it was `.warden` beside warden.yaml:
  // pins left there would be lost silently (rug_pull would pin every tool again, a changed one
  // included), so say where they are and how to keep them.
  const old = abs(join(".warden", STATE_FILES.pins));
  if (written === undefined && c.file !== "<inline>" && existsSync(old))
    c.deprecated(
      ["state"],
      `rug_pull pins are in ${old}, the old default state directory; the default is now ${dir}, where there are none. Write state: { dir: ./.warden } to keep using them (or move the file there).`,
    );
  const redis = redisKeys(c, c.obj(c.obj(root.state)?.redis));
  return { dir, cacheDir: join(dir, STATE_FILES.cache), ...(redis ? { redis } : {}) };
}

/** `state.redis`: `url` or `url_env` (one of them), the key prefix and the timeouts. */
function redisKeys(c: Checker, r: Obj | undefined): RedisSettings | undefined {
  if (r === undefined) return undefined;
  const at = ["state", "redis"];
  const url = c.str(r, "url");
  const urlEnv = c.str(r, "url_env");
  if (url !== undefined && urlEnv !== undefined)
    c.add(
      [...at, "url_env"],
      "state.redis has both url and url_env: keep one (url_env when the URL carries a password).",
      "conflicting_keys",
    );
  else if (url === undefined && urlEnv === undefined)
    c.add(
      at,
      "state.redis needs url (redis://host:port) or url_env (the variable holding it).",
      "missing_key",
    );
  const bad = url === undefined ? undefined : redisUrlProblem(url);
  if (bad !== undefined) c.add([...at, "url"], `state.redis.url ${bad}.`);
  const d = REDIS_DEFAULTS;
  return {
    ...(url === undefined ? {} : { url }),
    ...(urlEnv === undefined ? {} : { urlEnv }),
    keyPrefix: typeof r.key_prefix === "string" ? r.key_prefix : d.keyPrefix,
    connectTimeoutMs: c.int(r, "connect_timeout_ms", d.connectTimeoutMs),
    commandTimeoutMs: c.int(r, "command_timeout_ms", d.commandTimeoutMs),
    maxReconnectDelayMs: c.int(r, "max_reconnect_delay_ms", d.maxReconnectDelayMs),
  };
}

/**
 * The schema pass: warden.yaml against schemas/warden.schema.json (security_guards aside: the
 * guards layer checks it). `key:` with nothing after it reads as absent (`listen: { http: }`
 * as an HTTP listener with every default). Returns the root mapping, or undefined when there
 * is none.
 */
function schemaPass(c: Checker, raw: unknown, opts: ParseConfigOptions): Obj | undefined {
  const listenRaw = c.obj(c.obj(raw)?.listen);
  if (listenRaw && listenRaw.http === null) listenRaw.http = {};
  const value = dropNulls(raw ?? {});
  const body = c.obj(value) ? { ...(value as Obj) } : value;
  if (c.obj(body)) delete (body as Obj).security_guards;
  // warden admin serves no upstreams: a file without the key is checked as if it had one
  if (opts.upstreamsOptional === true && c.obj(body) && (body as Obj).upstreams === undefined)
    (body as Obj).upstreams = [{ name: "none", command: "none" }];
  for (const p of checkSchema(shippedValidator("warden"), body)) c.problem(p);
  return c.obj(value);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Format issues as `file:line:col key: message` lines. */
export function formatIssues(
  issues: readonly { file: string; line: number; col: number; key?: string; message: string }[],
): string {
  return issues
    .map((e) => `${e.file}:${e.line}:${e.col} ${e.key ? `${e.key}: ` : ""}${e.message}`)
    .join("\n");
}

/** Read and validate a config file; throws `config_invalid` / `config_unreadable`. */
export function loadConfig(path: string, opts: ParseConfigOptions = {}): GatewayConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new WardenError(
      "config_unreadable",
      `Cannot read gateway config ${file}: ${(cause as Error).message}. Pass an existing file with --config.`,
      { category: "config", cause, details: { file } },
    );
  }
  const r = parseConfig(text, file, opts);
  if (!r.ok)
    throw new WardenError(
      "config_invalid",
      `${r.errors.length} problem(s) in ${file}:\n${formatIssues(r.errors)}`,
      { category: "config", details: { file, errors: r.errors } },
    );
  return r.config;
}
