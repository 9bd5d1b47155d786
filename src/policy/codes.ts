/**
 * Error codes owned by the policy layer: located compile errors (`file:line:col code
 * message`) and the errors of `warden policy`. Retired codes are never reused.
 */
export const POLICY_CODES = {
  policy_syntax: "The policy is not valid YAML or JSON (the message gives line and column).",
  policy_unknown_key:
    'A key the policy language does not know; the message suggests the closest ("did you mean").',
  policy_missing_key: "A required key is missing (for example `access` on a storage allow rule).",
  policy_type: "A value has the wrong type or is not one of the allowed values.",
  policy_bad_value: "A value has the right type but cannot be used: version, unit, port range.",
  policy_bad_pattern:
    "A glob, host, CIDR, URI or regex in a rule is invalid or not canonical (`..`).",
  policy_too_deep:
    "The policy nests mappings and sequences deeper than 64 levels; the message names the line and key.",
  policy_duplicate: "A section is given twice (at the top level and under `permissions`).",
  policy_extension: "A registered permission type failed while compiling its section.",
  policy_file: "The policy file cannot be read (missing, a directory, no permission).",
  policy_version_ambiguous:
    'The version could be Warden\'s "1.0" or malwi\'s 1 (`"1"`, `1.0`): write `"1.0"` for a Warden policy, `1` for a malwi policy.',
  policy_not_enforced:
    "Warning: a key of a malwi policy that Warden cannot enforce (symbols, syscalls, includes, regex file patterns, warn/log on files and environment keys); the rest of the policy applies.",
  policy_approximated:
    "Warning: a rule of a malwi policy that Warden enforces differently (hide and review on files as deny, edit/delete/create as write).",
  policy_invalid: "`warden policy` was given a policy with errors (each one printed on stderr).",
  policy_bad_action:
    "`warden policy eval` got an action that is not JSON, malformed, or of an unknown kind.",
  policy_test_file:
    "`warden policy test` was given a path it cannot read, or a directory with no case files.",
  policy_test_syntax: "A case file is not valid YAML or JSON (the message gives line and column).",
  policy_test_case:
    "A case file does not match schemas/policy-test.schema.json, names no policy, or names a rule the policy does not have.",
  policy_test_action:
    "A case's action is malformed or of an unknown kind (`code: bad_action` tests that on purpose).",
  policy_test_invalid:
    "`warden policy test` found problems in the cases or their policies (each printed on stderr).",
} as const;

export type PolicyCode = keyof typeof POLICY_CODES;
