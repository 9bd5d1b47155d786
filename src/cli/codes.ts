/**
 * Error codes owned by the CLI's own commands (see docs/errors.md, section "cli").
 * Retired codes are never reused.
 */
export const INIT_CODES = {
  init_file_exists:
    "warden init would overwrite warden.yaml or policy.yaml; the message names the file (pass --force).",
  init_input_invalid:
    "warden init got input it cannot use: a --from file that cannot be read or has no servers, a variable it cannot expand, a directory it cannot write a rule for.",
  init_upstream_not_found:
    "warden init: an upstream's command does not exist or is not executable; the message names the upstream.",
  init_upstream_failed:
    "warden init: an upstream did not start, answer or list its tools in time; the message names it and ends with its stderr.",
} as const;
