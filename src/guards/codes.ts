/**
 * Error codes owned by the guards layer (see docs/errors.md, section "guards").
 * Retired codes are never reused.
 */
export const GUARD_CODES = {
  guard_config_invalid:
    "A `security_guards` entry in warden.yaml is wrong: each error names the file, line, key and what to write.",
  guard_load_failed:
    "A guard's module could not be loaded (missing file, not a guard component, transpile failed); the message names the guard and the file.",
  guard_failed:
    "A guard trapped, timed out, ran out of memory or fuel, or returned a bad decision; its failure_mode decided what happened next.",
  pins_invalid:
    "The rug_pull pins file is not valid JSON of the expected shape; the message names the file. With state.redis: the pins key holds another type, or a pin in it is not one a gateway wrote; the message names the key (and field) and what to delete, and the tool is refused meanwhile.",
  threw:
    "Audit only: a built-in guard threw an exception (its message follows); its failure_mode decided.",
  pin_not_found:
    "`warden pins approve` (or the admin page's Approve) named a server or tool that has no pending change (at that version) in the pins file.",
} as const;

export type GuardCode = keyof typeof GUARD_CODES;
