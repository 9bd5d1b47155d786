import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import { WardenError } from "../core/errors.js";
import { parseGuardsConfig } from "../guards/config.js";
import { didYouMean } from "../policy/schema.js";
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
  REQUEST_TIMEOUT_MS,
  type UpstreamConfig,
  type UpstreamSessions,
} from "./config-types.js";
import { prefixClash } from "./naming.js";

type Path = (string | number)[];
type Obj = Record<string, unknown>;

// security_guards is validated here by the guards layer's parseGuardsConfig (same document and
// LineCounter, so its errors carry file:line:col like the rest) at start, --check and reload.
const TOP_KEYS = [
  "listen",
  "policy",
  "audit",
  "metrics",
  "restart",
  "upstreams",
  "security_guards",
  "caller",
  "caller_includes_client_name",
  "limits",
  "auth",
];
const STDIO_KEYS = [
  "name",
  "command",
  "args",
  "env",
  "cwd",
  "prefix",
  "paths",
  "request_timeout_ms",
  "max_answer_bytes",
  "max_processes",
  "max_processes_wait_ms",
  "sessions",
];
const HTTP_KEYS = [
  "name",
  "url",
  "headers",
  "bearer_env",
  "prefix",
  "max_answer_bytes",
  "paths",
  "request_timeout_ms",
  "sessions",
];
const LIMIT_KEYS = ["client_message_bytes", "json_depth", "client_queue_bytes"];
const LISTEN_HTTP_KEYS = [
  "host",
  "port",
  "path",
  "allowed_hosts",
  "allowed_origins",
  "bearer_env",
  "session_idle_seconds",
  "json_response",
  "max_body_bytes",
  "max_header_bytes",
  "headers_timeout_seconds",
  "request_timeout_seconds",
  "keep_alive_seconds",
  "tls",
  "allow_insecure",
  "max_sessions",
  "max_sessions_per_token",
];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Validates one parsed warden.yaml, collecting every problem with its position. */
class Checker {
  readonly issues: ConfigIssue[] = [];
  constructor(
    readonly file: string,
    readonly doc: ReturnType<typeof parseDocument>,
    readonly lines: LineCounter,
  ) {}

  add(path: Path, message: string, code = "invalid_value"): void {
    let node: unknown;
    if (code === "unknown_key" && path.length > 0) {
      // Point at the key itself, not at its value.
      const parent =
        path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
      if (isMap(parent))
        node = parent.items.find(
          (p) => isScalar(p.key) && p.key.value === path[path.length - 1],
        )?.key;
    }
    for (let n = path.length; n >= 0 && !isNode(node); n--)
      node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    const pos = this.lines.linePos(offset);
    const key =
      path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("") ||
      "(top)";
    this.issues.push({ file: this.file, line: pos.line, col: pos.col, code, key, message });
  }

  obj(v: unknown, path: Path, keys: readonly string[], what: string): Obj | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.add(path, `${what} must be a mapping (key: value lines).`);
      return undefined;
    }
    for (const k of Object.keys(v))
      if (!keys.includes(k))
        this.add(
          [...path, k],
          `Unknown key "${k}" in ${what}${didYouMean(k, keys)}; allowed keys: ${keys.join(", ")}.`,
          "unknown_key",
        );
    return v as Obj;
  }

  str(o: Obj, k: string, path: Path, required: boolean): string | undefined {
    const v = o[k];
    if (v === undefined || v === null) {
      if (required) this.add(path, `Missing required key "${k}".`, "missing_key");
      return undefined;
    }
    if (typeof v !== "string" || v.length === 0) {
      this.add([...path, k], `"${k}" must be a non-empty string.`);
      return undefined;
    }
    return v;
  }

  strList(o: Obj, k: string, path: Path): string[] {
    const v = o[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" && typeof x !== "number")) {
      this.add([...path, k], `"${k}" must be a list of strings, e.g. ${k}: ["a", "b"].`);
      return [];
    }
    return v.map(String);
  }

  strMap(o: Obj, k: string, path: Path): Record<string, string> {
    const v = o[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) {
      this.add([...path, k], `"${k}" must be a mapping of names to strings.`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [name, val] of Object.entries(v as Obj)) {
      if (typeof val !== "string" && typeof val !== "number" && typeof val !== "boolean")
        this.add([...path, k, name], `"${k}.${name}" must be a string.`);
      else out[name] = String(val);
    }
    return out;
  }

  int(o: Obj, k: string, path: Path, dflt: number, min: number, max: number): number {
    const v = o[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.add([...path, k], `"${k}" must be a whole number from ${min} to ${max}.`);
      return dflt;
    }
    return v;
  }
}

function listen(c: Checker, v: unknown, abs: (p: string) => string): ListenConfig {
  if (v === undefined || v === null || v === "stdio") return { kind: "stdio" };
  const o = c.obj(v, ["listen"], ["stdio", "http"], "listen");
  if (!o) return { kind: "stdio" };
  if (o.http === undefined) {
    if (o.stdio === undefined)
      c.add(["listen"], 'Write "listen: stdio" or "listen: { http: {...} }".');
    return { kind: "stdio" };
  }
  if (o.stdio !== undefined)
    c.add(["listen"], "listen takes one of stdio or http, not both.", "conflicting_keys");
  const path = ["listen", "http"];
  const h = o.http === null ? {} : c.obj(o.http, path, LISTEN_HTTP_KEYS, "listen.http");
  if (!h) return { kind: "stdio" };
  const http: HttpListenConfig = {
    kind: "http",
    host: c.str(h, "host", path, false) ?? "127.0.0.1",
    port: c.int(h, "port", path, 8931, 0, 65535),
    path: c.str(h, "path", path, false) ?? "/mcp",
    allowedHosts: c.strList(h, "allowed_hosts", path),
    allowedOrigins: c.strList(h, "allowed_origins", path),
    bearerEnv: c.str(h, "bearer_env", path, false),
    sessionIdleMs: c.int(h, "session_idle_seconds", path, 600, 1, 7 * 86400) * 1000,
    jsonResponse: h.json_response === true,
    limits: httpLimits(c, h, path),
  };
  if (h.json_response !== undefined && typeof h.json_response !== "boolean")
    c.add([...path, "json_response"], '"json_response" must be true or false.');
  if (!http.path.startsWith("/")) c.add([...path, "path"], 'listen.http.path must start with "/".');
  if (h.tls !== undefined && h.tls !== null) {
    const t = c.obj(h.tls, [...path, "tls"], ["cert", "key"], "listen.http.tls");
    const cert = t && c.str(t, "cert", [...path, "tls"], true);
    const key = t && c.str(t, "key", [...path, "tls"], true);
    if (cert && key) (http as { tls?: unknown }).tls = { cert: abs(cert), key: abs(key) };
  }
  if (h.allow_insecure !== undefined && typeof h.allow_insecure !== "boolean")
    c.add([...path, "allow_insecure"], '"allow_insecure" must be true or false.');
  if (h.allow_insecure === true) (http as { allowInsecure?: boolean }).allowInsecure = true;
  return http;
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
function authKeys(c: Checker, root: Obj, l: ListenConfig): { auth?: AuthConfig } {
  const tokens: AuthToken[] = [];
  if (root.auth !== undefined && root.auth !== null) {
    const a = c.obj(root.auth, ["auth"], ["tokens"], "auth");
    const list = a?.tokens;
    if (a && (!Array.isArray(list) || list.length === 0))
      c.add(["auth", "tokens"], "auth.tokens must be a non-empty list of { name, env }.");
    else if (a && Array.isArray(list))
      for (const [i, t] of list.entries()) {
        const path = ["auth", "tokens", i];
        const o = c.obj(t, path, ["name", "env"], `auth.tokens[${i}]`);
        const name = o && c.str(o, "name", path, true);
        const env = o && c.str(o, "env", path, true);
        if (name && !NAME_RE.test(name))
          c.add([...path, "name"], `Token name "${name}" must be letters, digits, "-" or "_".`);
        else if (name && tokens.some((x) => x.name === name))
          c.add([...path, "name"], `Two tokens are named "${name}".`, "duplicate_name");
        if (name && env) tokens.push({ name, env });
      }
  }
  if (l.kind !== "http") return tokens.length > 0 ? { auth: { tokens } } : {};
  if (l.bearerEnv !== undefined) {
    if (root.auth !== undefined && root.auth !== null)
      c.add(
        ["listen", "http", "bearer_env"],
        "listen.http.bearer_env and auth.tokens both name tokens: move it to auth.tokens as { name: default, env: ... }.",
        "conflicting_keys",
      );
    else tokens.push({ name: "default", env: l.bearerEnv });
  }
  if (!isLoopback(l.host) && l.allowInsecure !== true) {
    const missing = [
      l.tls === undefined ? "TLS (listen.http.tls)" : "",
      tokens.length === 0 ? "tokens (auth.tokens)" : "",
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
  return tokens.length > 0 ? { auth: { tokens } } : {};
}

function httpLimits(c: Checker, h: Obj, path: Path): HttpLimits {
  const d = HTTP_LIMITS;
  const s = (k: string, dflt: number, max: number) => c.int(h, k, path, dflt / 1000, 1, max) * 1000;
  return {
    ...d,
    bodyBytes: c.int(h, "max_body_bytes", path, d.bodyBytes, 1024, 1024 ** 3),
    headerBytes: c.int(h, "max_header_bytes", path, d.headerBytes, 1024, 1024 * 1024),
    headersTimeoutMs: s("headers_timeout_seconds", d.headersTimeoutMs, 3600),
    requestTimeoutMs: s("request_timeout_seconds", d.requestTimeoutMs, 3600),
    keepAliveMs: s("keep_alive_seconds", d.keepAliveMs, 3600),
    sessions: c.int(h, "max_sessions", path, d.sessions, 1, 100_000),
    sessionsPerCaller: c.int(h, "max_sessions_per_token", path, d.sessionsPerCaller, 1, 100_000),
  };
}

function upstreams(c: Checker, v: unknown, base: string): UpstreamConfig[] {
  if (!Array.isArray(v) || v.length === 0) {
    c.add(
      ["upstreams"],
      "upstreams must be a non-empty list of MCP servers (name + command, or name + url).",
      "missing_key",
    );
    return [];
  }
  const out: UpstreamConfig[] = [];
  const seen = new Set<string>();
  for (const [i, u] of v.entries()) {
    const path = ["upstreams", i];
    const isHttp = typeof u === "object" && u !== null && "url" in u;
    const removed = isHttp && "client" in u;
    if (removed)
      c.add(
        [...path, "client"],
        "upstreams[].client was removed: every HTTP upstream now uses one client (undici), which also resumes SSE streams (GET + Last-Event-ID). Delete the key.",
        "unknown_key",
      );
    const o = c.obj(
      removed ? { ...u, client: undefined } : u,
      path,
      isHttp ? [...HTTP_KEYS, ...(removed ? ["client"] : [])] : STDIO_KEYS,
      `upstreams[${i}]`,
    );
    if (!o) continue;
    const name = c.str(o, "name", path, true) ?? `#${i}`;
    if (!NAME_RE.test(name) || name.includes("__"))
      c.add(
        [...path, "name"],
        `Upstream name "${name}" must be letters, digits, "-" or "_" and must not contain "__" (it becomes the "<name>__" prefix).`,
      );
    const clash = prefixClash(name, seen);
    if (clash !== undefined) c.add([...path, "name"], clash, "ambiguous_name");
    if (seen.has(name))
      c.add(
        [...path, "name"],
        `Two upstreams are named "${name}"; names must be unique.`,
        "duplicate_name",
      );
    seen.add(name);
    const prefix = o.prefix;
    if (prefix !== undefined && typeof prefix !== "boolean")
      c.add([...path, "prefix"], '"prefix" must be true or false.');
    const pfx = typeof prefix === "boolean" ? prefix : v.length > 1;
    const paths = o.paths ?? (isHttp ? "remote" : "local");
    if (paths !== "local" && paths !== "remote")
      c.add(
        [...path, "paths"],
        'paths must be "local" (its paths name files on this host: resolved through symbolic links before the check; default for command upstreams) or "remote" (another host\'s files, e.g. "docker run -i": judged as strings; default for url upstreams).',
      );
    const sessions = upstreamSessions(c, o, path);
    const requestTimeoutMs = c.int(
      o,
      "request_timeout_ms",
      path,
      REQUEST_TIMEOUT_MS,
      1,
      86_400_000,
    );
    if (isHttp) {
      const url = c.str(o, "url", path, true) ?? "http://invalid";
      try {
        const p = new URL(url);
        if (p.protocol !== "http:" && p.protocol !== "https:") throw new Error("scheme");
      } catch {
        c.add([...path, "url"], `"${url}" is not an http:// or https:// URL.`);
      }
      const bearerEnv = c.str(o, "bearer_env", path, false);
      out.push({
        maxAnswerBytes: c.int(o, "max_answer_bytes", path, 16 * 1024 * 1024, 1024, 1024 ** 3),
        kind: "http",
        name,
        url,
        headers: c.strMap(o, "headers", path),
        bearerEnv,
        prefix: pfx,
        paths: paths === "local" ? "local" : "remote",
        requestTimeoutMs,
        sessions,
      });
    } else {
      const command = c.str(o, "command", path, true) ?? "";
      const cwd = c.str(o, "cwd", path, false);
      out.push({
        kind: "stdio",
        name,
        command,
        args: c.strList(o, "args", path),
        env: c.strMap(o, "env", path),
        cwd: cwd === undefined ? undefined : resolve(base, cwd),
        prefix: pfx,
        paths: paths === "local" ? "local" : "remote",
        requestTimeoutMs,
        maxAnswerBytes: c.int(o, "max_answer_bytes", path, 16 * 1024 * 1024, 1024, 1024 ** 3),
        maxProcesses: c.int(o, "max_processes", path, 32, 1, 100_000),
        maxProcessesWaitMs: c.int(o, "max_processes_wait_ms", path, 2000, 0, 60_000),
        sessions,
      });
    }
  }
  return out;
}

/** `upstreams[].sessions`: one upstream connection per client session (default), or one shared. */
function upstreamSessions(c: Checker, o: Obj, path: Path): UpstreamSessions {
  const v = o.sessions ?? "per_session";
  if (v === "per_session" || v === "shared") return v;
  c.add(
    [...path, "sessions"],
    `sessions must be "per_session" (one upstream connection, a process for a command upstream, per client session; the default) or "shared" (one for every client session of the gateway)${didYouMean(String(v), ["per_session", "shared"])}.`,
  );
  return "per_session";
}

/** `caller` (stdio: who the client is) and `caller_includes_client_name` (opt-in). */
function callerKeys(
  c: Checker,
  root: Obj,
  l: ListenConfig,
): { caller: string; callerIncludesClientName: boolean } {
  const caller = c.str(root, "caller", [], false);
  if (caller !== undefined && l.kind === "http")
    c.add(
      ["caller"],
      "caller names the client of a stdio gateway; over HTTP the caller is the name of the token the client sent. Remove caller, or use listen: stdio.",
      "conflicting_keys",
    );
  else if (caller !== undefined && !NAME_RE.test(caller))
    c.add(["caller"], `caller "${caller}" must be letters, digits, "-" or "_".`);
  const withName = root.caller_includes_client_name ?? false;
  if (typeof withName !== "boolean")
    c.add(["caller_includes_client_name"], '"caller_includes_client_name" must be true or false.');
  return { caller: caller ?? "stdio", callerIncludesClientName: withName === true };
}

/** `limits:` message sizes, nesting and the queue towards a client (defaults: MESSAGE_LIMITS). */
function limits(c: Checker, v: unknown): MessageLimits {
  if (v === undefined || v === null) return MESSAGE_LIMITS;
  const o = c.obj(v, ["limits"], LIMIT_KEYS, "limits");
  if (!o) return MESSAGE_LIMITS;
  const d = MESSAGE_LIMITS;
  const GiB = 1024 * 1024 * 1024;
  return {
    clientMessageBytes: c.int(
      o,
      "client_message_bytes",
      ["limits"],
      d.clientMessageBytes,
      1024,
      GiB,
    ),
    // At most 1000: the shape check and every judge walk a message recursively, and 6,000 levels
    // overflowed the stack (a config allowing that would let one message end the gateway).
    jsonDepth: c.int(o, "json_depth", ["limits"], d.jsonDepth, 2, 1000),
    clientQueueBytes: c.int(o, "client_queue_bytes", ["limits"], d.clientQueueBytes, 65_536, GiB),
  };
}

/** Validate warden.yaml text; returns the frozen config or every issue found. */
export function parseConfig(
  text: string,
  file: string,
): { ok: true; config: GatewayConfig } | { ok: false; errors: ConfigIssue[] } {
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
  const root = c.obj(doc.toJS() ?? {}, [], TOP_KEYS, "warden.yaml");
  if (!root) return { ok: false, errors: c.issues };
  const base = file === "<inline>" ? process.cwd() : dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const policy = c.str(root, "policy", [], true);
  let audit: GatewayConfig["audit"];
  if (root.audit !== undefined && root.audit !== null && root.audit !== false) {
    const a = c.obj(
      root.audit,
      ["audit"],
      ["file", "arguments", "max_depth", "max_bytes"],
      "audit",
    );
    if (a) {
      const f = c.str(a, "file", ["audit"], true) ?? "-";
      const mode = a.arguments ?? "redacted";
      if (mode !== "redacted" && mode !== "full" && mode !== "omit")
        c.add(
          ["audit", "arguments"],
          'audit.arguments must be "redacted" (default), "full" or "omit".',
        );
      audit = {
        file: f === "-" ? "-" : abs(f),
        arguments: (typeof mode === "string" ? mode : "redacted") as ArgumentsMode,
        ...(a.max_depth === undefined
          ? {}
          : { maxDepth: c.int(a, "max_depth", ["audit"], 8, 1, 64) }),
        ...(a.max_bytes === undefined
          ? {}
          : { maxBytes: c.int(a, "max_bytes", ["audit"], 8192, 64, 16_777_216) }),
      };
    }
  }
  let metrics: GatewayConfig["metrics"];
  if (root.metrics !== undefined && root.metrics !== null && root.metrics !== false) {
    const m = root.metrics === true ? {} : c.obj(root.metrics, ["metrics"], ["path"], "metrics");
    if (m) metrics = { path: c.str(m, "path", ["metrics"], false) ?? "/metrics" };
  }
  const r =
    root.restart === undefined
      ? {}
      : c.obj(root.restart, ["restart"], ["initial_ms", "max_ms", "max_attempts"], "restart");
  const restart = {
    initialMs: c.int(r ?? {}, "initial_ms", ["restart"], 200, 1, 600_000),
    maxMs: c.int(r ?? {}, "max_ms", ["restart"], 10_000, 1, 3_600_000),
    maxAttempts: c.int(r ?? {}, "max_attempts", ["restart"], 20, 0, 1_000_000),
  };
  const listenCfg = listen(c, root.listen, abs);
  const config: GatewayConfig = {
    file,
    listen: listenCfg,
    ...callerKeys(c, root, listenCfg),
    ...authKeys(c, root, listenCfg),
    policy: policy === undefined ? "" : abs(policy),
    audit,
    metrics,
    restart,
    limits: limits(c, root.limits),
    upstreams: upstreams(c, root.upstreams, base),
  };
  const guards = parseGuardsConfig(
    isMap(doc.contents) ? (doc.contents.get("security_guards", true) ?? null) : null,
    file,
    { lineCounter: lines, baseDir: base },
  );
  c.issues.push(...guards.issues);
  if (guards.guards.length > 0) (config as { guards?: unknown }).guards = guards.guards;
  if (config.metrics && config.listen.kind !== "http")
    c.add(
      ["metrics"],
      "metrics are served over HTTP: they need listen: { http: ... }.",
      "conflicting_keys",
    );
  if (c.issues.length > 0) {
    c.issues.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors: c.issues };
  }
  return { ok: true, config: deepFreeze(config) };
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
export function loadConfig(path: string): GatewayConfig {
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
  const r = parseConfig(text, file);
  if (!r.ok)
    throw new WardenError(
      "config_invalid",
      `${r.errors.length} problem(s) in ${file}:\n${formatIssues(r.errors)}`,
      { category: "config", details: { file, errors: r.errors } },
    );
  return r.config;
}
