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

  private constructor(settings: RedisSettings, url: string, opts: RedisStateOptions) {
    this.settings = settings;
    this.url = shownUrl(url);
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
  unavailable(what: string, cause?: unknown): WardenError {
    const why =
      cause instanceof Error
        ? cause.message
        : (this.#health.error ?? `Redis is ${this.#health.state}`);
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
    this.#health = {
      state,
      url: this.url,
      since: h.state === state ? h.since : Date.now(),
      ...(error === undefined || state === "up" ? {} : { error }),
    };
    this.#onHealth?.(this.#health);
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
