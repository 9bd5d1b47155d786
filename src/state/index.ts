/**
 * The state layer: what several gateway instances share, kept in Redis (`state.redis`,
 * docs/gateway.md, "Shared state in Redis"). Imports core (and audit) only; mcp, admin and cli
 * use it. Without `state.redis` nothing here runs: everything stays in memory.
 */
export { STATE_CODES, type StateCode } from "./codes.js";
export { RedisLimiter, TAKE_SCRIPT, type TakeResult, WINDOW_MS, windowKey } from "./limits.js";
export {
  type PinRecord,
  parseRecord,
  pinField,
  pinsChannel,
  pinsKey,
  type StoredPin,
} from "./pin-records.js";
export { RedisPins, type SeenVersion } from "./pins.js";
export {
  approveRedisPin,
  approveRedisPins,
  listRedisPins,
  MAX_LISTED_PINS,
  type PinListRow,
  type RedisPinProblem,
  type RedisPinView,
  viewRedisPins,
} from "./pins-admin.js";
export {
  type RedisHealth,
  type RedisHealthState,
  type RedisReport,
  RedisState,
  type RedisStateOptions,
  type StateNeed,
} from "./redis.js";
export {
  KEY_PREFIX_RE,
  REDIS_DEFAULTS,
  type RedisSettings,
  redisUrlProblem,
  resolveUrl,
  shownUrl,
} from "./settings.js";
