import { exitCodeFor, isWardenError, WardenError } from "../core/errors.js";

/** Print a value as one JSON line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Print an error as one line on stderr (`warden: <code>: <message>`) and return its exit code. */
export function reportError(error: unknown): 1 | 2 | 3 {
  const e = isWardenError(error)
    ? error
    : new WardenError(
        "internal",
        `${error instanceof Error ? error.message : String(error)} (a bug in Warden: please report it)`,
        { cause: error },
      );
  process.stderr.write(`warden: ${e.code}: ${e.message.replace(/\s*\n\s*/g, " ")}\n`);
  return exitCodeFor(error);
}

/** A usage error (exit 2) naming the option and what to do. */
export function usageError(message: string, details?: Record<string, unknown>): WardenError {
  return new WardenError("usage", message, { category: "usage", ...(details ? { details } : {}) });
}
