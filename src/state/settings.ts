/**
 * `state.redis` of warden.yaml, as the state layer takes it (the mcp layer parses and
 * validates the key and hands this over; docs/gateway.md, "Shared state in Redis").
 */
export interface RedisSettings {
  /** `redis://` or `rediss://` URL (may carry a password), or absent when `urlEnv` names it. */
  readonly url?: string;
  /** `url_env`: the environment variable holding the URL (keeps a password out of the file). */
  readonly urlEnv?: string;
  /** `key_prefix`: every key the gateway writes starts with it (default `warden:`). */
  readonly keyPrefix: string;
  /** `connect_timeout_ms`: one connection attempt (default 2000). */
  readonly connectTimeoutMs: number;
  /** `command_timeout_ms`: one command's answer; past it the command fails (default 1000). */
  readonly commandTimeoutMs: number;
  /** `max_reconnect_delay_ms`: the cap of the backoff between reconnection attempts (default 2000). */
  readonly maxReconnectDelayMs: number;
}

export const REDIS_DEFAULTS = Object.freeze({
  keyPrefix: "warden:",
  connectTimeoutMs: 2000,
  commandTimeoutMs: 1000,
  maxReconnectDelayMs: 2000,
});

/** Characters a key prefix may hold: printable ASCII without spaces, at most 64. */
export const KEY_PREFIX_RE = /^[!-~]{0,64}$/;

/**
 * The URL as it may be shown (messages, health, logs): the password replaced by `***`, the
 * user name kept. An unparsable value shows as `(unparsable Redis URL)`, never verbatim.
 */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable Redis URL)";
  }
}

/** Why `url` cannot be a Redis URL, or undefined when it can. */
export function redisUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a URL: write redis://host:port[/db] (rediss:// for TLS)";
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    return `has scheme ${u.protocol} where redis: or rediss: (TLS) is needed`;
  if (u.hostname === "") return "names no host: write redis://host:port[/db]";
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db))
    return `names database "${db}": the path must be a database number (0-15) or nothing`;
  return undefined;
}

/** The URL in force: `url`, else the value of `urlEnv` (undefined when neither gives one). */
export function resolveUrl(
  s: RedisSettings,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (s.url !== undefined) return s.url;
  if (s.urlEnv === undefined) return undefined;
  const v = env[s.urlEnv];
  return v === undefined || v === "" ? undefined : v;
}
