/**
 * rug_pull's pins shared by every gateway on one Redis (`state.redis`): the guards layer's
 * SharedPins (implemented structurally; the state layer does not import guards), over the hash
 * and scripts of pin-records.ts.
 *
 * The guard judges from `cached` (no I/O on the per-call path). The cache holds what Redis last
 * said of each (server, tool); it is marked stale (asked again before it is trusted, but still
 * what the guard judges with until then):
 * - per server, when another instance (or `warden pins approve`) announces a change of that
 *   server's pins on the channel (pub/sub: one Redis round trip after the change);
 * - whole, when the subscription (re)connects (announcements may have been missed meanwhile);
 * - whole, for as long as Redis is up but this instance is not subscribed (the subscription
 *   failed, e.g. an ACL user without the channel: NOPERM, or is reconnecting): it would hear of
 *   no change, so every pin is asked again before it is trusted.
 * An answer to a question sent before a drop is kept as stale. While Redis is down the cache is
 * kept: approved versions already read are served; anything else is refused
 * (rug-pull-shared.ts). A pin Redis no longer holds (it restarted empty, or lost its last
 * writes) is written back from the cache on the next decision, not taken as a first sight.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import {
  DECIDE_SCRIPT,
  DECIDE_SHA,
  firstSight,
  HASH_VERSION,
  isReplyError,
  ORIGIN_LENGTH,
  type PinRecord,
  parseRecord,
  pinField,
  pinsChannel,
  pinsKey,
  type StoredPin,
  wellFormed,
  wrongType,
} from "./pin-records.js";
import type { RedisState } from "./redis.js";

/** A tool version as rug_pull saw it (the guards layer's SeenTool, structurally). */
export interface SeenVersion {
  readonly name: string;
  readonly hash: string;
  readonly description: string;
  /** Its hash as pins written before hash version 2 computed it (upgraded on sight). */
  readonly oldHash: string;
}

/** Pins cached at most, in all (past it the cache starts over). */
const MAX_CACHED = 100_000;

/** A pin as last read, and when (the epoch its question was sent in). */
interface Cached {
  pin: StoredPin | null;
  at: number;
}

export class RedisPins {
  readonly state: RedisState;
  readonly key: string;
  readonly channel: string;
  /** This process's id in change messages (its own are not news to it). */
  readonly origin = randomBytes(9).toString("base64url");
  readonly #cache = new Map<string, Map<string, Cached>>();
  readonly #failed = new Map<string, Map<string, Error>>();
  #size = 0;
  /** Counts drops: an answer to a question sent before a drop is stale after it. */
  #epoch = 0;
  /** The epoch of the last drop of everything, and of each server. */
  #droppedAll = 0;
  readonly #dropped = new Map<string, number>();
  readonly #sub: Redis;
  /** Subscribed to the channel now (announcements are heard). */
  #live = false;
  /** Why the last subscription failed (for `subscriptionError`). */
  #subError: Error | undefined;

  constructor(state: RedisState) {
    this.state = state;
    this.key = pinsKey(state.keyPrefix);
    this.channel = pinsChannel(state.keyPrefix);
    this.#sub = state.client.duplicate();
    this.#sub.on("error", () => {}); // the main connection reports Redis' health
    this.#sub.on("ready", () => {
      // (re)connected: announcements may have been missed meanwhile
      this.#droppedAll = ++this.#epoch;
      this.#sub.subscribe(this.channel).then(
        () => {
          this.#live = true;
          this.#subError = undefined;
          // what was read between the connection and the subscription may have changed since
          this.#droppedAll = ++this.#epoch;
        },
        (e: Error) => {
          this.#live = false;
          this.#subError = e;
        },
      );
    });
    this.#sub.on("close", () => {
      this.#live = false;
    });
    this.#sub.on("message", (_channel: string, message: string) => {
      if (message.slice(0, ORIGIN_LENGTH) === this.origin) return;
      const server = message.slice(ORIGIN_LENGTH);
      if (this.#cache.has(server)) this.#dropped.set(server, ++this.#epoch);
    });
    this.#sub.connect().catch(() => {});
  }

  /** The pin as last read (kept while Redis is down, and after a drop: see `stale`). */
  cached(server: string, tool: string): StoredPin | null | undefined {
    return this.#cache.get(server)?.get(tool)?.pin;
  }

  /** True when the pin was never read, or may have changed since (ask Redis before trusting it). */
  stale(server: string, tool: string): boolean {
    const c = this.#cache.get(server)?.get(tool);
    if (c === undefined) return true;
    // not hearing announcements while Redis answers: ask it (while it is down, keep the cache)
    if (!this.#live && this.state.up) return true;
    return c.at < this.#droppedAll || c.at < (this.#dropped.get(server) ?? 0);
  }

  /** Why this instance is not subscribed to pin changes, if a subscription failed. */
  get subscriptionError(): Error | undefined {
    return this.#live ? undefined : this.#subError;
  }

  failure(server: string, tool: string): Error | undefined {
    return this.#failed.get(server)?.get(tool);
  }

  async decide(server: string, tools: readonly SeenVersion[], at: string): Promise<void> {
    const args: string[] = [this.channel, this.origin + server];
    for (const t of tools) {
      // what Redis writes if it holds no pin: the pin this instance last read, if any (a Redis
      // that restarted empty, or lost its last writes, does not make a change a first sight)
      const known = this.#cache.get(server)?.get(t.name)?.pin;
      args.push(
        pinField(server, t.name),
        t.hash,
        known
          ? remembered(server, t, known, at)
          : firstSight(server, t.name, t.hash, t.description, at),
        t.description,
        at,
        t.oldHash,
      );
    }
    await this.#ask(
      server,
      tools.map((t) => t.name),
      () => this.#eval(args),
      "a tools/list that needs a rug_pull pin decision",
    );
  }

  async read(server: string, tools: readonly string[]): Promise<void> {
    const fields = tools.map((t) => pinField(server, t));
    await this.#ask(
      server,
      tools,
      () => this.state.client.hmget(this.key, ...fields),
      "a tools/call whose rug_pull pin is not known here",
    );
  }

  /** Stop following other instances' changes (the gateway closes Redis itself). */
  close(): void {
    this.#sub.disconnect();
    this.#cache.clear();
    this.#size = 0;
  }

  async #ask(
    server: string,
    tools: readonly string[],
    send: () => Promise<unknown>,
    what: string,
  ): Promise<void> {
    const epoch = this.#epoch;
    let answer: unknown;
    try {
      answer = await send();
    } catch (e) {
      const err =
        isReplyError(e) && /^WRONGTYPE/.test((e as Error).message)
          ? wrongType(this.key, e)
          : this.state.unavailable(what, e, "pins");
      for (const t of tools) this.#fail(server, t, err);
      return;
    }
    if (!Array.isArray(answer) || answer.length !== tools.length) {
      const err = this.state.unavailable(
        what,
        new Error(`Redis answered ${describe(answer)} for ${tools.length} pin(s)`),
        "pins",
      );
      for (const t of tools) this.#fail(server, t, err);
      return;
    }
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[i]!;
      const raw: unknown = answer[i];
      if (raw === null) {
        this.#set(server, tool, null, epoch);
        continue;
      }
      let rec: PinRecord;
      try {
        rec = parseRecord(this.key, pinField(server, tool), raw, { server, tool });
      } catch (e) {
        this.#fail(server, tool, e as Error);
        continue;
      }
      const { server: _s, tool: _t, ...pin } = rec;
      this.#set(server, tool, pin, epoch);
    }
  }

  async #eval(args: string[]): Promise<unknown> {
    const c = this.state.client;
    try {
      return await c.evalsha(DECIDE_SHA, 1, this.key, ...args);
    } catch (e) {
      if (!(isReplyError(e) && (e as Error).message.startsWith("NOSCRIPT"))) throw e;
      return await c.eval(DECIDE_SCRIPT, 1, this.key, ...args);
    }
  }

  /** Keep what Redis answered to a question sent in `epoch` (stale if a drop came since). */
  #set(server: string, tool: string, pin: StoredPin | null, epoch: number): void {
    let m = this.#cache.get(server);
    if (m === undefined) this.#cache.set(server, (m = new Map()));
    if (!m.has(tool)) {
      if (this.#size >= MAX_CACHED) {
        this.#cache.clear();
        this.#size = 0;
        this.#cache.set(server, (m = new Map()));
      }
      this.#size++;
    }
    m.set(tool, { pin, at: epoch });
    const f = this.#failed.get(server);
    if (f?.delete(tool) && f.size === 0) this.#failed.delete(server);
  }

  #fail(server: string, tool: string, err: Error): void {
    let f = this.#failed.get(server);
    if (f === undefined) this.#failed.set(server, (f = new Map()));
    if (f.size < MAX_CACHED) f.set(tool, err);
  }
}

/**
 * The pin this instance remembers for `t`, as DECIDE_SCRIPT's record for a field it finds
 * empty: the approved version kept, `t` pending when it differs (as the script would record it).
 */
function remembered(server: string, t: SeenVersion, known: StoredPin, at: string): string {
  const { pending, ...pin } = known;
  const record: Record<string, unknown> = {
    ...pin,
    server: wellFormed(server),
    tool: wellFormed(t.name),
  };
  // a pin of hash version 1 still matching: written back upgraded (pins.ts upgradePin)
  if (known.hash === t.oldHash) {
    record.hash = t.hash;
    record.hash_version = HASH_VERSION;
  }
  if (t.hash !== record.hash)
    record.pending =
      pending?.hash === t.hash
        ? pending
        : pending?.hash === t.oldHash
          ? { ...pending, hash: t.hash, hash_version: HASH_VERSION }
          : {
              hash: t.hash,
              description: wellFormed(t.description),
              seen_at: at,
              hash_version: HASH_VERSION,
            };
  return JSON.stringify(record);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length <= 80 ? s : `${s.slice(0, 80)}...`;
}
