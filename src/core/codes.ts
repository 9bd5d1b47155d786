/**
 * Error codes owned by the core layer. Every layer keeps its own `codes.ts` with the same
 * shape; test/core/error-codes.test.ts collects them all and pins them against docs/errors.md.
 * Retired codes are never reused.
 */
export const CORE_CODES = {
  invalid_argument: "A library call got an argument it cannot use (the message names it).",
  invalid_strategy: "A strategy handed to a chain has no hooks, a duplicate name or a bad hook.",
  denied: "A chain or policy said no to a call; details name the strategy or rule.",
  usage: "The command line was wrong: unknown option, missing argument, bad value.",
  internal: "A bug in Warden: please report it with the command and the message.",
} as const;

export type CoreCode = keyof typeof CORE_CODES;
