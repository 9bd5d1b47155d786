import { exitCodeFor } from "../core/errors.js";

/**
 * The one exit-code table of every `warden` command (docs/cli.md, "Exit codes", repeats it and
 * test/cli/exit-codes.test.ts checks the two agree). A command sets `process.exitCode` only to
 * one of these, by name.
 */
export const EXIT = {
  /** The command did its job, or the check said yes (allowed). */
  ok: 0,
  /** A check said no: denied, blocked (a guard's block, a plugin's deny), invalid. */
  denied: 1,
  /** Bad usage, input or config: unknown option, missing argument, a missing or bad input file. */
  usage: 2,
  /** A failure at run time: a plugin or guard trapped, timed out or misbehaved; a bug in Warden. */
  failure: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table as docs/cli.md shows it: code, meaning. */
export const EXIT_TABLE: ReadonlyArray<{ readonly code: ExitCode; readonly meaning: string }> = [
  { code: EXIT.ok, meaning: "ok: the command did its job, or the check said yes (allowed)" },
  {
    code: EXIT.denied,
    meaning: "denied or blocked: a policy denied, a guard blocked, a plugin said deny",
  },
  {
    code: EXIT.usage,
    meaning:
      "bad usage, input or config: unknown option, missing argument, a missing or unreadable input file, a config or policy with errors; bare `warden` (help) too",
  },
  {
    code: EXIT.failure,
    meaning:
      "a failure at run time: a plugin or guard trapped, timed out or misbehaved, an upstream failed, a bug in Warden",
  },
];

/** The one exception, stated with the table. */
export const EXIT_EXCEPTION =
  "`warden run` exits with the traced program's own code, as `env` and `time` do (126 when Warden refuses to start it, 127 when the command does not exist).";

/** One line for `warden --help`. */
export function exitCodesHelp(): string {
  return `Exit codes: ${EXIT_TABLE.map((r) => `${r.code} ${r.meaning.split(":")[0]}`).join(", ")}. Exception: ${EXIT_EXCEPTION} See docs/cli.md.`;
}

/** The exit code of an error: its category decides (denied 1, usage/config 2, otherwise 3). */
export function exitCodeOf(error: unknown): ExitCode {
  return exitCodeFor(error);
}
