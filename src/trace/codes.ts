/**
 * Error codes of the trace layer and `warden run` (docs/errors.md, section "trace"). Retired
 * codes are never reused.
 */
export const TRACE_CODES = {
  trace_refused:
    "`warden run` refused to start the program: a policy with errors, an unknown preset, the agent missing; exit 126.",
  trace_command_not_found: "`warden run`: the command to run does not exist; exit 127.",
  trace_agent_failed:
    "An agent inside a traced process could not reach `warden run` or compile its policy; that process exits 126 (fail closed).",
} as const;

export type TraceCode = keyof typeof TRACE_CODES;
