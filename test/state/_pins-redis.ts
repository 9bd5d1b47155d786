/**
 * rug_pull guards over pins shared in a real redis-server, as the guard sees them (no gateway):
 * `openPins` makes one "gateway instance" (its own connection, RedisPins, a guard over them);
 * `usePinsRedis` gives a test file one redis-server, a raw connection to look into it, and
 * instances closed after each test; `judgeOn` judges as the gateway does.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createRugPull } from "../../src/guards/builtin/rug-pull.js";
import type { Guard, GuardDecision, GuardTool } from "../../src/guards/types.js";
import { REDIS_DEFAULTS, RedisPins, RedisState } from "../../src/state/index.js";
import { specOf } from "../guards/helpers.js";
import { RedisServer } from "./redis-server.js";

export interface PinsInstance {
  state: RedisState;
  pins: RedisPins;
  guard: Guard;
}

/**
 * One instance's pins under `keyPrefix` at `url`: reconnecting within 100 ms, its commands given
 * 5 s (a stopped Redis fails them at once; a short timeout only fails them on a loaded machine).
 */
export async function openPins(
  url: string,
  keyPrefix: string,
  config: Record<string, unknown> = {},
): Promise<PinsInstance> {
  const state = RedisState.open({
    ...REDIS_DEFAULTS,
    url,
    keyPrefix,
    commandTimeoutMs: 5000,
    maxReconnectDelayMs: 100,
  });
  const pins = new RedisPins(state);
  try {
    await state.waitUp(5000);
  } catch (e) {
    pins.close();
    await state.close();
    throw e;
  }
  const guard = createRugPull(specOf({ id: "rp", type: "rug_pull", config }), Date.now, pins);
  return { state, pins, guard };
}

export interface PinsRedis {
  readonly redis: RedisServer;
  /** A raw connection to the server (to plant or read values). */
  readonly peek: Redis;
  /** An instance (openPins) on this server or at `url`, closed after the test. */
  instance(
    keyPrefix: string,
    config?: Record<string, unknown>,
    url?: string,
  ): Promise<PinsInstance>;
  /** A key prefix of its own for each test: `<tag><n>:`. */
  fresh(): string;
}

/** Register the hooks of a test file's redis-server and instances. */
export function usePinsRedis(tag: string): PinsRedis {
  let redis: RedisServer | undefined;
  let peek: Redis | undefined;
  const open: PinsInstance[] = [];
  let n = 0;
  beforeAll(async () => {
    redis = await RedisServer.start();
    peek = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    peek.on("error", () => {}); // tests stop Redis on purpose
  });
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.pins.close();
      await o.state.close();
    }
  });
  afterAll(async () => {
    peek?.disconnect();
    await redis?.close();
  });
  return {
    get redis() {
      return redis!;
    },
    get peek() {
      return peek!;
    },
    async instance(keyPrefix, config = {}, url = redis!.url) {
      const o = await openPins(url, keyPrefix, config);
      open.push(o);
      return o;
    },
    fresh: () => `${tag}${++n}:`,
  };
}

/** Judge as the gateway does (for upstream `server` unless told): await prepare, then evaluate. */
export const judgeOn =
  (server: string) =>
  async (g: Guard, phase: "tools_list" | "tool_invoke", payload: unknown, upstream = server) => {
    const ctx = { serverName: upstream };
    await g.prepare?.(phase, payload as never, ctx);
    return g.evaluate(phase, payload as never, ctx);
  };

/** A tools/call of `name` without arguments. */
export const call = (name: string) => ({ method: "tools/call", name, arguments: {} });

/** The tools a listing decision kept (a modify), else the decision's kind. */
export const names = (d: GuardDecision) =>
  d.kind === "modify" ? (d.payload as GuardTool[]).map((t) => t.name) : d.kind;
