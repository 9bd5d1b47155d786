/**
 * Error codes owned by the hosted layer (docs/errors.md, "hosted"). Retired codes are never
 * reused. `WASI_CODES`: the WASI host that runs inside a component's worker (src/hosted/wasi).
 */
export const WASI_CODES = {
  hosted_policy_invalid:
    "The policy or the component's grants handed to the WASI host do not compile (each error located, a Wassette file's in that file).",
  hosted_import_refused:
    "A component imports a WASI interface (or any interface) the WASI host does not provide; the message names it.",
  hosted_wasi_trap:
    "A component called wasi:cli/exit or asked for stdin: the call ends with this error, never the host.",
} as const;
