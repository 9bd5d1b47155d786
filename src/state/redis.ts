/**
 * One Redis connection per gateway (ioredis), shared by everything the gateway keeps in Redis:
 * rate-limit windows (limits.ts), rug_pull pins (pins.ts) and session routing (sessions*.ts).
 *
 * It fails fast rather than waits: the offline queue is off, so a command sent while Redis is
 * down fails at once instead of queueing; each command times out after `command_timeout_ms`;
 * a command in flight when the connection drops fails at once (no retry on reconnect: a retried
 * command could be counted twice). It reconnects by itself with a backoff capped at
 * `max_reconnect_delay_ms`, forever, so the gateway recovers as soon as Redis is back.
 * Callers turn a failure into `state_unavailable` (fail closed) with `unavailable()`.
 */
import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import { WardenError } from "../core/errors.js";
import { type RedisSettings, resolveUrl, shownUrl } from "./settings.js";

export type RedisHealthState = "connecting" | "up" | "down" | "closed";

export interface RedisHealth {
  readonly state: RedisHealthState;
  /** The URL without its password. */
  readonly url: string;
  /** Since when (ms since the epoch) it is in this state. */
  readonly since: number;
  /** The last connection error's message, while not up. */
  readonly error?: string;
}

/**
 * What needed shared state when Redis could not give it (the label of
 * `warden_state_unavailable_total`): a rate-limited call, a request for a session another
 * instance holds, a change to the shared plugin registry, a rug_pull pin.
 */
export type StateNeed = "rate_limit" | "session_route" | "registry" | "pins";

/** The connection as /readyz shows it (docs/scale-out.md, "Health"). */
export interface RedisReport {
  /** ready: commands are sent; connecting: never up yet; reconnecting: lost, retrying; closed. */
  readonly status: "ready" | "connecting" | "reconnecting" | "closed";
  /** The URL without its password. */
  readonly url: string;
  /** Since when (ISO 8601) it is in this status. */
  readonly since: string;
  /** The last connection error, without the password, while not ready. */
  readonly last_error?: string;
  /** Refusals for want of Redis since the start, by what needed it. */
  readonly refused: Readonly<Record<string, number>>;
}

export interface RedisStateOptions {
  /** Told each change of health (for the gateway's log and readiness). */
  readonly onHealth?: (h: RedisHealth) => void;
  /** The environment `url_env` is read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** The first reconnection delay; each next one doubles, up to `maxReconnectDelayMs`. */
const FIRST_DELAY_MS = 50;

export class RedisState {
  /** The ioredis client (one per gateway). Commands fail at once while it is not ready. */
  readonly client: Redis;
  /** The URL as it may be shown (no password). */
  readonly url: string;
  readonly keyPrefix: string;
  readonly settings: RedisSettings;
  #health: RedisHealth;
  readonly #onHealth: ((h: RedisHealth) => void) | undefined;
  /** The URL's password (raw and decoded): never shown, scrubbed from error texts. */
  readonly #secrets: string[];
  #everUp = false;
  readonly #refusals = new Map<string, number>();

  private constructor(settings: RedisSettings, url: string, opts: RedisStateOptions) {
    this.settings = settings;
    this.url = shownUrl(url);
    this.#secrets = secretsOf(url);
    this.keyPrefix = settings.keyPrefix;
    this.#onHealth = opts.onHealth;
    this.#health = { state: "connecting", url: this.url, since: Date.now() };
    const cap = settings.maxReconnectDelayMs;
    this.client = new (loadIoredis())(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: settings.connectTimeoutMs,
      commandTimeout: settings.commandTimeoutMs,
      enableAutoPipelining: true,
      // Bounded backoff, never giving up: the gateway recovers by itself when Redis is back.
      retryStrategy: (times: number) => Math.min(cap, FIRST_DELAY_MS * 2 ** Math.min(times, 16)),
      // A Redis fail-over turns a primary read-only: reconnect to find the new one.
      reconnectOnError: (e: Error) => e.message.startsWith("READONLY"),
    });
    this.client.on("ready", () => this.#set("up"));
    this.client.on("error", (e: Error) => this.#set("down", e.message));
    this.client.on("close", () => this.#set("down", this.#health.error ?? "connection closed"));
    this.client.on("end", () => this.#set("closed"));
  }

  /**
   * Open the connection for `settings` (connecting in the background: the gateway starts even
   * while Redis is down, and refuses only what needs it). Throws `state_unavailable` when no URL
   * is given (`url_env` names an unset variable).
   */
  static open(settings: RedisSettings, opts: RedisStateOptions = {}): RedisState {
    const url = resolveUrl(settings, opts.env);
    if (url === undefined)
      throw new WardenError(
        "state_unavailable",
        `state.redis.url_env names ${settings.urlEnv}, which is not set: set it to the Redis URL (redis://host:port) or write state.redis.url.`,
        { category: "config", details: { env: settings.urlEnv } },
      );
    const s = new RedisState(settings, url, opts);
    s.client.connect().catch(() => {
      // reported through the "error" event and health(); the client keeps reconnecting
    });
    return s;
  }

  health(): RedisHealth {
    return this.#health;
  }

  /** Count a refusal for want of Redis (`warden_state_unavailable_total{need}`). */
  refused(need: StateNeed): void {
    this.#refusals.set(need, (this.#refusals.get(need) ?? 0) + 1);
  }

  /** Refusals for want of Redis since the start, by what needed it. */
  refusals(): ReadonlyMap<string, number> {
    return this.#refusals;
  }

  /** The connection for /readyz: its status, the URL and last error without the password. */
  report(): RedisReport {
    const h = this.#health;
    const status =
      h.state === "up"
        ? "ready"
        : h.state === "closed"
          ? "closed"
          : this.#everUp
            ? "reconnecting"
            : "connecting";
    return {
      status,
      url: this.url,
      since: new Date(h.since).toISOString(),
      ...(h.error === undefined || status === "ready" ? {} : { last_error: this.scrub(h.error) }),
      refused: Object.fromEntries(this.#refusals),
    };
  }

  /** `text` with the URL's password replaced by `***` (an error text may quote it). */
  scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join("***");
    return out;
  }

  /** True while commands can be sent. */
  get up(): boolean {
    return this.client.status === "ready";
  }

  /** Resolves true once Redis is up, false if `ms` pass first (for starts and tests). */
  waitUp(ms: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(t);
        this.client.off("ready", onReady);
        resolve(v);
      };
      const onReady = () => done(true);
      const t = setTimeout(() => done(false), ms);
      t.unref();
      this.client.on("ready", onReady);
    });
  }

  /**
   * The `state_unavailable` error for `what` (e.g. "a rate-limited call"), naming the URL
   * without its password and saying what to do.
   */
  unavailable(what: string, cause?: unknown, need?: StateNeed): WardenError {
    if (need !== undefined) this.refused(need);
    const why = this.scrub(
      cause instanceof Error
        ? cause.message
        : (this.#health.error ?? `Redis is ${this.#health.state}`),
    );
    return new WardenError(
      "state_unavailable",
      `shared state in Redis at ${this.url} (state.redis) cannot be used (${why}): ${what} is refused until it answers. Start Redis or fix state.redis; the gateway reconnects by itself.`,
      { category: "internal", cause, details: { url: this.url } },
    );
  }

  /** A key under the configured prefix: `<key_prefix><kind>:<id>`; `id` must be encoded. */
  key(kind: string, id: string): string {
    return `${this.keyPrefix}${kind}:${id}`;
  }

  async close(): Promise<void> {
    if (this.client.status === "end") return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    this.#set("closed");
  }

  #set(state: RedisHealthState, error?: string): void {
    const h = this.#health;
    if (h.state === "closed") return;
    if (h.state === state && h.error === error) return;
    if (state === "up") this.#everUp = true;
    this.#health = {
      state,
      url: this.url,
      since: h.state === state ? h.since : Date.now(),
      ...(error === undefined || state === "up" ? {} : { error }),
    };
    this.#onHealth?.(this.#health);
  }
}

/** The password of `url`, raw and decoded (empty: none). */
function secretsOf(url: string): string[] {
  try {
    const p = new URL(url).password;
    if (p === "") return [];
    const d = decodeURIComponent(p);
    return d === p ? [p] : [p, d];
  } catch {
    return [];
  }
}

/**
 * ioredis, loaded on first use: a gateway without `state.redis` never loads it (it is CommonJS,
 * so a synchronous require keeps `RedisState.open` synchronous). test/architecture/lazy-deps
 * checks that the gateway's modules do not load it.
 */
function loadIoredis(): typeof Redis {
  return (createRequire(import.meta.url)("ioredis") as { Redis: typeof Redis }).Redis;
}
