/**
 * Rate-limit windows shared by every gateway on one Redis (`max_calls_per_minute` with
 * `state.redis`): the same exact 60 s sliding window as the in-memory one (policy's
 * rate-limit.ts), kept in a sorted set per (rule, tool, caller) and taken by one Lua script, so
 * that N gateways together allow exactly N calls per window, not N each.
 *
 * - The script reads the time from Redis (`TIME`), not from the gateway: instances with skewed
 *   clocks still agree. Each call adds a member unique to this process and call, so two calls
 *   in the same millisecond both count.
 * - The key is `<key_prefix>rl:<hash>`, the hash (sha256, base64url) of the rule's content
 *   key, the tool and the caller, each length-prefixed: no name, however long or whatever
 *   characters it holds (`:`, `*`, newlines), can reach another window's key.
 * - A refused call is not counted. A call whose answer did not come (Redis went down, the
 *   command timed out) may have been counted by Redis: its member is removed again as soon as
 *   Redis answers (`#undo`), so a call refused for want of Redis is never counted.
 * - Any answer that is not the script's (a key of another type, a stranger's reply) fails the
 *   take, which the gateway turns into a refusal (fail closed).
 */
import { createHash, randomBytes } from "node:crypto";
import type { RedisState } from "./redis.js";

export const WINDOW_MS = 60_000;

/** KEYS[1] the window; ARGV: the limit, the window (ms), this call's member. */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, n + 1}
end
return {0, n}
`;

const TAKE_SHA = createHash("sha1").update(TAKE_SCRIPT).digest("hex");

/** Members whose take failed in flight, at most this many kept for removal. */
const MAX_UNDO = 10_000;
/** How soon a removal that failed while Redis stayed connected is tried again. */
const UNDO_RETRY_MS = 500;

/** The window key of (rule, tool, caller): a hash, so no name can collide with another. */
export function windowKey(prefix: string, rule: string, tool: string, caller: string): string {
  const h = createHash("sha256");
  for (const part of [rule, tool, caller]) h.update(`${Buffer.byteLength(part)}:${part};`);
  return `${prefix}rl:${h.digest("base64url")}`;
}

export interface TakeResult {
  readonly allowed: boolean;
  /** Calls in the window after this one (allowed) or now (refused). */
  readonly used: number;
}

export class RedisLimiter {
  readonly state: RedisState;
  readonly #instance = randomBytes(9).toString("base64url");
  #seq = 0;
  /** Members to remove: their take failed in flight and Redis may have counted them. */
  readonly #undo = new Map<string, string>();
  #flushing = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(state: RedisState) {
    this.state = state;
    state.client.on("ready", () => void this.#flushUndo());
  }

  /**
   * Take one call for `tool` by `caller` from the shared window of the rule with content key
   * `rule`. Rejects (the gateway refuses the call, `state_unavailable`) when Redis cannot say.
   */
  async take(rule: string, perMinute: number, tool: string, caller: string): Promise<TakeResult> {
    const key = windowKey(this.state.keyPrefix, rule, tool, caller);
    const member = `${this.#instance}:${++this.#seq}`;
    let answer: unknown;
    try {
      answer = await this.#eval(key, perMinute, member);
    } catch (e) {
      // A reply error (a key of another type) means the script did not add; anything else
      // (timeout, connection lost) may have: remove the member once Redis answers again.
      if (!isReplyError(e)) this.#remember(member, key);
      throw e;
    }
    if (
      !Array.isArray(answer) ||
      answer.length !== 2 ||
      (answer[0] !== 0 && answer[0] !== 1) ||
      typeof answer[1] !== "number"
    ) {
      this.#remember(member, key);
      throw new Error(`Redis answered the rate-limit script with ${describe(answer)}`);
    }
    return { allowed: answer[0] === 1, used: answer[1] };
  }

  /** Members waiting to be removed (tests). */
  get undoing(): number {
    return this.#undo.size;
  }

  async #eval(key: string, perMinute: number, member: string): Promise<unknown> {
    const c = this.state.client;
    try {
      return await c.evalsha(TAKE_SHA, 1, key, perMinute, WINDOW_MS, member);
    } catch (e) {
      if (!(isReplyError(e) && (e as Error).message.startsWith("NOSCRIPT"))) throw e;
      return await c.eval(TAKE_SCRIPT, 1, key, perMinute, WINDOW_MS, member);
    }
  }

  #remember(member: string, key: string): void {
    if (this.#undo.size < MAX_UNDO) this.#undo.set(member, key);
    if (this.state.up) void this.#flushUndo();
  }

  async #flushUndo(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (const [member, key] of [...this.#undo]) {
        try {
          await this.state.client.zrem(key, member);
          this.#undo.delete(member);
        } catch (e) {
          if (isReplyError(e)) {
            this.#undo.delete(member); // not a sorted set: nothing of ours
            continue;
          }
          // down or slow: again on the next "ready", or after a pause while it stays up
          if (this.#retry === undefined) {
            this.#retry = setTimeout(() => {
              this.#retry = undefined;
              if (this.state.up) void this.#flushUndo();
            }, UNDO_RETRY_MS);
            this.#retry.unref();
          }
          return;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}

function isReplyError(e: unknown): boolean {
  return e instanceof Error && e.name === "ReplyError";
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length <= 80 ? s : `${s.slice(0, 80)}...`;
}
