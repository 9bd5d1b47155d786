/**
 * Error codes owned by the sandbox layer (category "plugin", exit 3, unless noted). Every
 * error names the plugin and the limit or export involved; see docs/errors.md and
 * docs/sandbox.md.
 */
export const SANDBOX_CODES = {
  not_found: "The plugin file does not exist or cannot be read.",
  too_large: "The module, the input or the output is larger than its limit.",
  compile_error: "The bytes are not a WebAssembly module Warden can compile and instrument.",
  link_error: "The module imports something that is not granted (module.field is named).",
  missing_export:
    "A required export (memory, the evaluation function) is absent or has the wrong type.",
  init_failed: "The start function or `_initialize` trapped, timed out or ran out of budget.",
  timeout: "An evaluation ran past timeout_ms and was stopped.",
  memory_exceeded: "The plugin needed more linear memory than memory_limit_bytes allows.",
  fuel_exhausted: "An evaluation used up its fuel (instruction budget).",
  trap: "The plugin trapped (details.kind: unreachable, out_of_bounds, stack_overflow, ...).",
  invalid_output: "The plugin's output is not a JSON object with a boolean verdict.",
  invalid_input: "The input handed to a plugin is not a JSON document (exit 2).",
  invalid_limit: "A limit or plugin name is out of range (exit 2).",
} as const;

export type SandboxCode = keyof typeof SANDBOX_CODES;
