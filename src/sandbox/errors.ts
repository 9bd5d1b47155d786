import { type ErrorCategory, WardenError } from "../core/errors.js";
import type { SandboxCode } from "./codes.js";

const CATEGORY: Partial<Record<SandboxCode, ErrorCategory>> = {
  invalid_input: "usage",
  invalid_limit: "config",
};

/** A sandbox error: always names the plugin; `details` add the limit, export or trap kind. */
export function sandboxError(
  code: SandboxCode,
  plugin: string,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): WardenError {
  return new WardenError(code, `plugin "${plugin}": ${message}`, {
    category: CATEGORY[code] ?? "plugin",
    details: { plugin, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}
