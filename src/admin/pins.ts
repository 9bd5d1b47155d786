/**
 * rug_pull's pins as the admin API serves them (`GET /v1/gateway/pins`, `POST
 * /v1/gateway/pins/approve`, docs/admin.md). With `state.redis` the pins are Redis's, shared by
 * every gateway on it: listed from the pins hash and approved with the approve script of `warden
 * pins approve`, announced on the pins channel, so a running gateway honours the approval on its
 * next tools/list or tools/call. Never the pins files then: Redis down is `state_unavailable`
 * (503), fail closed. Without `state.redis` the gateway's views read and write the pins files.
 */
import { randomBytes } from "node:crypto";
import {
  approveRedisPin,
  pinsChannel,
  pinsKey,
  type RedisPinProblem,
  type RedisPinView,
  type RedisState,
  viewRedisPins,
} from "../state/index.js";

/** What the pins routes list: the pins, and values of the store that are not pins. */
export interface AdminPinList {
  /** Where the pins are: `redis` (the hash `key`). */
  readonly store: "redis";
  readonly key: string;
  readonly pins: readonly RedisPinView[];
  /** Values that are not pins (planted or corrupted), each naming the key and field. */
  readonly problems: readonly RedisPinProblem[];
  /** More pins than the list holds (MAX_LISTED_PINS). */
  readonly truncated: boolean;
}

/** The pins the admin API manages itself (not through a gateway's views). */
export interface AdminPins {
  readonly store: "redis";
  /** Throws state_unavailable (Redis down) or pins_invalid (the key holds another type). */
  list(): Promise<AdminPinList>;
  /** Approve the pending change at `hash`; throws pin_not_found, pins_invalid, state_unavailable. */
  approve(upstream: string, tool: string, hash: string, by: string): Promise<RedisPinView>;
}

/** The pins in the Redis of `state.redis` (the key and channel of its key_prefix). */
export function redisAdminPins(state: RedisState): AdminPins {
  const key = pinsKey(state.keyPrefix);
  const channel = pinsChannel(state.keyPrefix);
  // this listener's id on the channel (12 characters, as a gateway's): every gateway hears it
  const origin = randomBytes(9).toString("base64url");
  return {
    store: "redis",
    async list() {
      return { store: "redis", key, ...(await viewRedisPins(state, key)) };
    },
    approve: (upstream, tool, hash, by) =>
      approveRedisPin(state, key, channel, origin, upstream, tool, hash, by),
  };
}
