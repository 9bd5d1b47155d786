import type { Command } from "commander";
import { isWardenError, WardenError } from "../core/errors.js";
import { type ExitCode, exitCodeOf } from "./exit-codes.js";

/**
 * A reader that leaves early (`warden demo | head`) ends the output: the command stops quietly
 * with exit 0 instead of dying on EPIPE with a stack trace. For commands that only print; not
 * for the gateway, whose stdout is an MCP transport with its own shutdown.
 */
export function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(0);
  });
}

/** Print a value as one JSON line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * The `--json` convention (docs/cli.md, "Output"): every command that prints data takes
 * `--json`; with it, stdout carries exactly one JSON document, the result or, on any error
 * (usage errors included), `{"error":{"code","message","details"?}}`.
 */
export function jsonOption(cmd: Command): Command {
  return cmd.option(
    "--json",
    'print the result as one JSON document on stdout; an error too, as {"error":{"code","message"}}',
  );
}

/** The error as a WardenError: a foreign error is a bug in Warden. */
function asWardenError(error: unknown): WardenError {
  return isWardenError(error)
    ? error
    : new WardenError(
        "internal",
        `${error instanceof Error ? error.message : String(error)} (a bug in Warden: please report it)`,
        { cause: error },
      );
}

/** The JSON document of an error: `{"error":{"code","message","details"?}}`. */
export function errorJson(error: unknown): { error: ReturnType<WardenError["toJSON"]> } {
  return { error: asWardenError(error).toJSON() };
}

/**
 * Print an error and return its exit code: on stderr, one problem per line, the first as
 * `warden: <code>: <message>`; with `json`, also `{"error":...}` on stdout.
 */
export function reportError(error: unknown, opts: { json?: boolean } = {}): ExitCode {
  const e = asWardenError(error);
  if (opts.json === true) printJson(errorJson(e));
  const lines = e.message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  process.stderr.write(`warden: ${e.code}: ${lines.join("\n  ")}\n`);
  return exitCodeOf(error);
}

/** A usage error (exit 2) naming the option and what to do. */
export function usageError(message: string, details?: Record<string, unknown>): WardenError {
  return new WardenError("usage", message, { category: "usage", ...(details ? { details } : {}) });
}
