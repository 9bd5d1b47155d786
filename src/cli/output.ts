import { exitCodeFor, isWardenError, WardenError } from "../core/errors.js";

/** Print a value as one JSON line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Print an error as one line on stderr (`warden: <code>: <message>`) and return its exit code. */
export function reportError(error: unknown): 1 | 2 | 3 {
  if (isWardenError(error)) {
    process.stderr.write(`warden: ${error.code}: ${error.message.replace(/\s*\n\s*/g, " ")}\n`);
  } else {
    const msg = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `warden: internal: ${msg.replace(/\s*\n\s*/g, " ")} (a bug in Warden: please report it)\n`,
    );
  }
  return exitCodeFor(error);
}

/** A usage error (exit 2) naming the option and what to do. */
export function usageError(message: string, details?: Record<string, unknown>): WardenError {
  return new WardenError("usage", message, { category: "usage", ...(details ? { details } : {}) });
}
