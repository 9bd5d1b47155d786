/**
 * The one error type Warden throws. Every error has a stable `code` (listed once in
 * docs/errors.md, pinned by test/core/error-codes.test.ts), a message that names what was
 * involved and says what to do, an optional `cause`, and structured `details`.
 */

const BRAND = Symbol.for("warden.error");

/** How the CLI turns an error into an exit code (see docs/cli.md). */
export type ErrorCategory = "denied" | "usage" | "config" | "internal" | "plugin";

export interface WardenErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  category?: ErrorCategory;
}

export class WardenError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly category: ErrorCategory;

  constructor(code: string, message: string, options: WardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WardenError";
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
    this.category = options.category ?? "internal";
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof` that works across duplicate copies of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true
    );
  }

  /** One line, as the CLI prints it: `code: message`. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    const out: { code: string; message: string; details?: Record<string, unknown> } = {
      code: this.code,
      message: this.message,
    };
    if (Object.keys(this.details).length > 0) out.details = { ...this.details };
    return out;
  }
}

/** True for a WardenError from any copy of the package. */
export function isWardenError(value: unknown): value is WardenError {
  return value instanceof WardenError;
}

/** Exit code for the CLI: 1 denied, 2 usage/config, 3 internal/plugin. */
export function exitCodeFor(error: unknown): 1 | 2 | 3 {
  if (!isWardenError(error)) return 3;
  switch (error.category) {
    case "denied":
      return 1;
    case "usage":
    case "config":
      return 2;
    default:
      return 3;
  }
}
