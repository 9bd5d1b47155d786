/**
 * Error codes owned by the state layer (see docs/errors.md, section "state").
 * Retired codes are never reused.
 */
export const STATE_CODES = {
  state_unavailable:
    "Shared state in Redis (state.redis) could not be read or written: the call that needed it is refused (fail closed); the message names the Redis URL (without its password) and what to do.",
} as const;

export type StateCode = keyof typeof STATE_CODES;
