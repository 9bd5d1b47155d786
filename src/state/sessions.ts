/**
 * The shared session directory (docs/scale-out.md, "Sessions"): which gateway instance holds
 * each Streamable HTTP session, in Redis, so that another instance can forward a request to it
 * (src/mcp/http-forward.ts). One key per session, `<prefix>session:<id>`, whose value names the
 * owner's MCP endpoint and carries an HMAC-SHA256 of (id, endpoint) under the secret the
 * instances share (state.sessions.secret_env): a record nobody with the secret wrote (written
 * straight into Redis by someone else) is ignored, so the directory can only send a client's
 * request, and its Authorization, to an endpoint an instance registered. Only ids of the shape
 * instances make (a UUID) are ever looked up, so a hostile id (huge, non-ASCII, a key
 * separator) never reaches a key. Records expire after `ttlMs` unless refreshed.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The few commands of a Redis client the directory uses (ioredis's `Redis` has them). */
export interface DirectoryRedis {
  set(key: string, value: string, px: "PX", ms: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Session ids as instances make them (crypto.randomUUID). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Delete a key only if it still holds the value given (another owner's record stays). */
const DELETE_IF = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;
/** state.sessions.ttl_seconds by default, in ms. */
export const SESSION_TTL_MS = 60_000;
/** What the HMAC covers besides the id and endpoint (a record of another kind never verifies). */
const DOMAIN = "warden session route v1";

export interface SessionDirectoryOptions {
  /** This instance's MCP endpoint, as the other instances reach it. */
  readonly self: string;
  /** The secret the instances share (state.sessions.secret_env's value). */
  readonly secret: string;
  /** Key prefix (default "warden:"). */
  readonly prefix?: string;
  readonly ttlMs?: number;
}

export class SessionDirectory {
  readonly self: string;
  readonly ttlMs: number;
  readonly #prefix: string;
  readonly #secret: string;
  constructor(
    readonly redis: DirectoryRedis,
    opts: SessionDirectoryOptions,
  ) {
    this.self = opts.self;
    this.ttlMs = opts.ttlMs ?? SESSION_TTL_MS;
    this.#prefix = opts.prefix ?? "warden:";
    this.#secret = opts.secret;
  }

  plausible(id: string): boolean {
    return SESSION_ID.test(id);
  }

  #key(id: string): string {
    if (!SESSION_ID.test(id))
      throw new Error(`not a session id: ${JSON.stringify(id.slice(0, 64))}`);
    return `${this.#prefix}session:${id}`;
  }

  #sig(id: string, url: string): string {
    return createHmac("sha256", this.#secret)
      .update(`${DOMAIN}\n${id}\n${url}`)
      .digest("base64url");
  }

  /** The record of `id` held by `url` (deterministic: a compare-and-delete can name it). */
  #record(id: string, url: string): string {
    return JSON.stringify({ url, sig: this.#sig(id, url) });
  }

  async register(id: string): Promise<void> {
    await this.redis.set(this.#key(id), this.#record(id, this.self), "PX", this.ttlMs);
  }

  async refresh(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.register(id)));
  }

  async owner(id: string): Promise<string | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const raw = await this.redis.get(this.#key(id));
    return raw === null ? undefined : this.#verified(id, raw);
  }

  /** The endpoint of a record an instance signed, else undefined. */
  #verified(id: string, raw: string): string | undefined {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (typeof v !== "object" || v === null) return undefined;
    const { url, sig } = v as { url?: unknown; sig?: unknown };
    if (typeof url !== "string" || typeof sig !== "string") return undefined;
    const want = Buffer.from(this.#sig(id, url));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    return url;
  }

  async forget(id: string, url: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.redis.eval(DELETE_IF, 1, this.#key(id), this.#record(id, url));
  }
}
