/**
 * Error codes owned by the rules layer (see docs/errors.md, section "rules").
 * Retired codes are never reused.
 */
export const RULES_CODES = {
  rules_invalid:
    "A rules file has problems; each is listed as file:line:col with its own rules_* code, and nothing is loaded.",
  rules_syntax:
    "A rules file is not valid YAML or JSON (or nests too deep); the position is given.",
  rules_schema:
    "A rules file does not match schemas/rules.schema.json: an unknown key, a missing key or a wrong value, named with a did you mean.",
  rules_condition:
    "A condition cannot be compiled: an unknown field, a value of the wrong kind for its operator, an RE2 pattern that does not compile, a leaf mixed with a group.",
  rules_cel:
    "A CEL condition does not parse or type-check; the position is that of the expression inside the file.",
  rules_duplicate:
    "Two rules have the same name; each rule needs its own (it names the rule in decisions).",
  rules_plugin_failed:
    "A rule's plugin could not be called or failed (not found, trap, timeout, memory, bad output); the rule's on_error decided.",
  rules_eval_failed:
    "A rule could not be evaluated (a CEL error at run time, such as a missing key); the rule's on_error decided.",
  rule_denied:
    "A rule matched with action deny and refused the call; the message names the rule and its file:line.",
  rule_review:
    "A rule matched with action review: the call needs a person's approval, which the gateway cannot hold calls for, so it is refused; the message names the rule and its file:line.",
  rule_plugin_error:
    "A rule's plugin failed (unknown, disabled, trap, timeout, memory, bad output) and the rule's on_error refused the call; the message names the rule, its file:line and the cause.",
  rule_eval_error:
    "A rule could not be evaluated (a CEL error at run time) and its on_error refused the call; the message names the rule, its file:line and the cause.",
  rules_bad_action:
    "`warden rules eval --action` is not a JSON object of the plugin input or a Warden action.",
} as const;

export type RulesCode = keyof typeof RULES_CODES;
