/** The validated, frozen shape of warden.yaml (see docs/gateway.md, "Configuration"). */
import type { AuditConfig } from "../audit/record.js";
import type { GuardSpec } from "../guards/config-types.js";
import type { OAuthSettings } from "../identity/index.js";
import type { RedisSettings } from "../state/index.js";
import type { OtlpSettings } from "../telemetry/index.js";

export interface StdioUpstreamConfig {
  readonly kind: "stdio";
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  /** Expose tools and prompts as `<name>__<tool>` and resources under `<name>+<uri>`. */
  readonly prefix: boolean;
  /** max_processes: this upstream's processes at most (one per HTTP session; default 32). */
  readonly maxProcesses?: number;
  /** max_processes_wait_ms: how long a new session waits for a process slot (default 2000). */
  readonly maxProcessesWaitMs?: number;
  /** sessions: one process per client session (default) or one shared by all. */
  readonly sessions?: UpstreamSessions;
  /** Whose files its paths name (default "local"): see `Paths`. */
  readonly paths: Paths;
  /** max_answer_bytes: the bound of one line it sends (default 16 MiB). */
  readonly maxAnswerBytes?: number;
  /** request_timeout_ms: how long a request may wait for its answer (default 60 s). */
  readonly requestTimeoutMs?: number;
}

export interface HttpUpstreamConfig {
  readonly kind: "http";
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The environment variable holding a bearer token sent upstream, if any. */
  readonly bearerEnv: string | undefined;
  readonly prefix: boolean;
  /** Whose files its paths name (default "remote"): see `Paths`. */
  readonly paths: Paths;
  /** max_answer_bytes: the bound of one answer or SSE event (default 16 MiB, MAX_ANSWER). */
  readonly maxAnswerBytes?: number;
  /** request_timeout_ms: how long a request may wait for its answer (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** sessions: one upstream session per client session (default) or one shared by all. */
  readonly sessions?: UpstreamSessions;
  /** token_exchange: its bearer token comes from an RFC 8693 exchange of the caller's (docs/identity.md). */
  readonly tokenExchange?: {
    readonly resource: string;
    readonly audience?: string;
    readonly scopes: readonly string[];
  };
}

/**
 * `upstreams[].sessions`: "per_session" gives each client session its own upstream connection
 * (a process for a command upstream); "shared" gives every client session one connection, which
 * the gateway initializes once (docs/gateway.md, "Shared upstreams").
 */
export type UpstreamSessions = "per_session" | "shared";

/**
 * `upstreams[].paths`: "local" when the upstream's paths name files on this host (path
 * arguments, `file:` resource URIs and roots are resolved through symbolic links before the
 * policy judges them), "remote" when they name another host's (judged as strings).
 */
export type Paths = "local" | "remote";

/**
 * `upstreams[].component`: WebAssembly components served as MCP tools in-process (src/hosted,
 * docs/hosted-tools.md). `command`/`args` describe it where a connection is judged or shown
 * (transport stdio, command "warden-component", args [the component path]).
 */
export interface ComponentUpstreamConfig {
  readonly kind: "component";
  readonly name: string;
  /** The component file or folder (absolute). */
  readonly component: string;
  /** Policy files that must all allow a host call: the gateway's, then the upstream's own. */
  readonly policies: readonly string[];
  readonly stateful: boolean;
  /** per-call (default), per-session, or stateful (docs/hosted-tools.md#state). */
  readonly instance: "per-call" | "per-session" | "stateful";
  /** per-session: live instances per component at most (max_instances, default 16). */
  readonly maxInstances?: number;
  /** per-session: their memory per component at most, MiB (instances_memory_mb, default 1024). */
  readonly instancesMemoryMb?: number;
  /** Calls of each component waiting for a worker thread at most (max_queued, default 64). */
  readonly maxQueued?: number;
  /** Tasks of one session running at once at most (max_tasks, default 16). */
  readonly maxTasks?: number;
  /** A task's result kept for tasks/result, bytes of its JSON, at most (max_task_result_bytes, default 1 MiB). */
  readonly maxTaskResultBytes?: number;
  /** The results one session's tasks hold, bytes of their JSON in all, at most (max_session_task_result_bytes, default 16 MiB). */
  readonly maxSessionTaskResultBytes?: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly prefix: boolean;
  readonly paths: Paths;
  readonly maxAnswerBytes?: number;
  readonly requestTimeoutMs?: number;
  readonly sessions?: UpstreamSessions;
}

export type UpstreamConfig = StdioUpstreamConfig | HttpUpstreamConfig | ComponentUpstreamConfig;

export interface HttpListenConfig {
  readonly kind: "http";
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Host header values accepted (DNS rebinding); loopback names are always accepted. */
  readonly allowedHosts: readonly string[];
  /** Origin header values accepted; absent Origin (non-browser clients) is accepted. */
  readonly allowedOrigins: readonly string[];
  /** Environment variable holding the bearer token clients must send, if any. */
  readonly bearerEnv: string | undefined;
  readonly sessionIdleMs: number;
  /** Complete POST answers as JSON even when the client accepts SSE (default: SSE, as the SDK). */
  readonly jsonResponse?: boolean;
  /** Limits of the HTTP server (defaults: HTTP_LIMITS). */
  readonly limits?: Partial<HttpLimits>;
  /** HTTPS: PEM files (absolute paths). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** allow_insecure: listen beyond loopback without TLS or without tokens (refused otherwise). */
  readonly allowInsecure?: boolean;
}

/** One named bearer token of the `auth` section: clients send its value; the caller is `name`. */
export interface AuthToken {
  readonly name: string;
  /** The environment variable holding the token's value. */
  readonly env: string;
}

/** The `auth` section, read by every listener that takes tokens. */
export interface AuthConfig {
  readonly tokens: readonly AuthToken[];
  /** `auth.oauth`: access tokens checked as a resource server (docs/identity.md). */
  readonly oauth?: OAuthSettings;
}

/** The HTTP front's limits (listen.http keys in docs/gateway.md, "Limits"). */
export interface HttpLimits {
  /** max_body_bytes: a request body. */
  readonly bodyBytes: number;
  /** max_header_bytes: a request head (and trailers). */
  readonly headerBytes: number;
  /** headers_timeout_seconds: to send the request head. */
  readonly headersTimeoutMs: number;
  /** request_timeout_seconds: to send the whole request. */
  readonly requestTimeoutMs: number;
  /** keep_alive_seconds: an idle keep-alive connection is closed after this. */
  readonly keepAliveMs: number;
  /** max_sessions: open HTTP sessions in all. */
  readonly sessions: number;
  /** max_sessions_per_token: open HTTP sessions of one caller. */
  readonly sessionsPerCaller: number;
  /** max_connections: TCP connections held at once, in all. */
  readonly connections: number;
  /** max_connections_per_address: TCP connections held at once from one remote address. */
  readonly connectionsPerAddress: number;
}

export const HTTP_LIMITS: HttpLimits = Object.freeze({
  bodyBytes: 4 * 1024 * 1024,
  headerBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveMs: 65_000,
  sessions: 256,
  sessionsPerCaller: 32,
  connections: 1024,
  connectionsPerAddress: 256,
});

export type ListenConfig = { readonly kind: "stdio" } | HttpListenConfig;

/** The audit section's shape lives with the audit writer (src/audit/record.ts). */
export type { ArgumentsMode, AuditConfig, AuditLevel } from "../audit/record.js";

export interface RestartConfig {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly maxAttempts: number;
}

export interface GatewayConfig {
  /** Absolute path of the config file ("<inline>" when built in code). */
  readonly file: string;
  readonly listen: ListenConfig;
  /** Absolute path of the policy file. */
  readonly policy: string;
  readonly audit: AuditConfig | undefined;
  readonly metrics: { readonly path: string } | undefined;
  /** `telemetry.otlp`: a span per judged call to an OpenTelemetry collector (docs/telemetry.md). */
  readonly otlp?: OtlpSettings;
  readonly restart: RestartConfig;
  /** Message limits, both sides (`limits:`; defaults MESSAGE_LIMITS). */
  readonly limits?: MessageLimits;
  readonly upstreams: readonly UpstreamConfig[];
  /** listen: stdio only: who the client is, for rate limits and the audit (default "stdio"). */
  readonly caller?: string;
  /** `auth`: named bearer tokens (HTTP: the caller is the token's name). */
  readonly auth?: AuthConfig;
  /**
   * Opt-in: the caller becomes `<caller>/<clientInfo.name>`, so that several agents behind one
   * identity get their own rate limits. The client picks that name itself (see docs/gateway.md).
   */
  readonly callerIncludesClientName?: boolean;
  /** `state`: where what outlives a run is kept (docs/gateway.md, "Shared keys"). */
  readonly state?: StateConfig;
  /**
   * Accepted, but to be changed: keys at their old place (`deprecated_key`, each naming the new
   * key). `warden gateway` prints them on stderr at start; `--check` lists them.
   */
  readonly warnings?: readonly ConfigIssue[];
  /** security_guards, validated by the guards layer (absent when the section is empty). */
  readonly guards?: readonly GuardSpec[];
  /** `admin:`: the admin HTTP API's listener (docs/admin.md); absent: no admin listener. */
  readonly admin?: AdminSection;
  /** `wasm:`: the rule plugin registry's settings (docs/admin.md). */
  readonly wasm?: WasmSection;
  /** `rules:`: the rules file, absolute (docs/rules.md); the cli composes the rules strategy. */
  readonly rules?: string;
}

/** `admin:` of warden.yaml (the admin layer takes it structurally). */
export interface AdminSection {
  readonly listen: {
    readonly host: string;
    readonly port: number;
    /** Absolute paths. */
    readonly tls?: { readonly cert: string; readonly key: string };
    readonly allowedHosts: readonly string[];
    readonly allowInsecure: boolean;
  };
}

/** `wasm:` of warden.yaml. */
export interface WasmSection {
  readonly enabled: boolean;
  /** Absolute. */
  readonly pluginDir?: string;
  readonly defaultMemoryLimitBytes: number;
  readonly defaultTimeoutMs: number;
}

/** `state:` of warden.yaml. */
export interface StateConfig {
  /**
   * Absolute; `state.dir`, default the XDG state directory (`$XDG_STATE_HOME/warden`, else
   * `~/.local/state/warden`): rug_pull's pins.json, the default audit file.
   */
  readonly dir: string;
  /** `<dir>/cache`: where WebAssembly guards' transpiled and instrumented modules go. */
  readonly cacheDir?: string;
  /** `state.redis`: shared state for several instances (docs/gateway.md, "Shared state in Redis"). */
  readonly redis?: RedisSettings;
  /** `state.sessions`: HTTP sessions routed between instances (docs/scale-out.md). */
  readonly sessions?: SessionRoutingConfig;
}

/** `state.sessions` of warden.yaml (src/mcp/config-sessions.ts). */
export interface SessionRoutingConfig {
  /** This instance's MCP endpoint as the others reach it (default http://127.0.0.1:<port><path>). */
  readonly instanceUrl?: string;
  /** The environment variable holding the secret the instances share (signs the records). */
  readonly secretEnv: string;
  /** ttl_seconds: a record lives this long unless refreshed (every third of it). */
  readonly ttlMs: number;
  /** max_forwards: requests forwarded to other instances at once (SSE streams count). */
  readonly maxForwards: number;
  /** forward_timeout_ms: how long the owner may take to send its answer's head (then 504). */
  readonly forwardTimeoutMs: number;
  /**
   * tls.ca, absolute: the CA (PEM) an https owner's certificate must chain to; without it,
   * Node's trust store (with NODE_EXTRA_CA_CERTS).
   */
  readonly caFile?: string;
}

/** One problem in a config file, in the same shape as policy compile errors. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  code: string;
  key: string;
  message: string;
}

/** What one JSON-RPC message and one client's queue may hold (`limits:` in warden.yaml). */
export interface MessageLimits {
  /** client_message_bytes: one message from a client (a stdio line). */
  readonly clientMessageBytes: number;
  /** json_depth: nesting of objects and arrays in any message, both sides. */
  readonly jsonDepth: number;
  /** client_queue_bytes: bytes waiting to be written towards one client; past it, it is dropped. */
  readonly clientQueueBytes: number;
}

export const MESSAGE_LIMITS: MessageLimits = Object.freeze({
  clientMessageBytes: 4 * 1024 * 1024,
  jsonDepth: 128,
  clientQueueBytes: 8 * 1024 * 1024,
});

/** How long a request waits for an upstream's answer by default (upstreams[].request_timeout_ms). */
export const REQUEST_TIMEOUT_MS = 60_000;
