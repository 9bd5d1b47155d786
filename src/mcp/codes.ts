/**
 * Error codes owned by the MCP gateway layer (see docs/errors.md, section "mcp").
 * Retired codes are never reused.
 */
export const MCP_CODES = {
  config_invalid:
    "warden.yaml is not valid: each error names the file, line, column and key, and says what to write instead.",
  config_unreadable: "The gateway config file could not be read (missing, unreadable).",
  policy_load_failed:
    "The policy file named by `policy:` in warden.yaml does not compile; errors name file:line.",
  upstream_failed:
    "An upstream MCP server could not be started or reached; the message names it and the cause.",
  upstream_unavailable:
    "A request went to an upstream that is down or restarting; it is retried with backoff.",
  listen_failed:
    "The gateway could not listen (address in use, permission): the message names host and port.",
  tool_denied:
    "The policy denied a tools/call (name, parameters or rate limit); the error names the rule.",
  prompt_denied: "The policy denied a prompts/get; the error names the rule.",
  resource_denied: "The policy denied a resources/read or subscription; the error names the rule.",
  completion_denied: "The policy denied a completion/complete; the error names the rule.",
  connection_denied: "The policy's transport section refused the client's transport or host.",
  guard_denied: "A guard in the gateway's chain refused a message; the error names the guard.",
  method_unknown:
    "A client request whose method MCP does not define (-32601), refused unless mcp.methods.allow lists it.",
  unknown_target:
    "A request named a tool, prompt or resource no upstream serves (wrong prefix or stale list).",
  upstream_timeout:
    "An upstream did not answer a request within its request_timeout_ms; the gateway cancelled it upstream.",
  message_invalid:
    "A message was refused before it was judged: not JSON-RPC, nested past limits.json_depth, or a result that is not the shape MCP gives it.",
  message_too_large:
    "A message was longer than limits.client_message_bytes or upstreams[].max_answer_bytes and was dropped.",
  id_unsafe:
    "A numeric JSON-RPC id that is not a safe integer (-32600): its answer could not carry it exactly; use a string id.",
  not_initialized:
    "A request other than initialize or ping before the session's initialize was answered (-32600).",
  session_refused:
    "A request on a session whose initialize failed or was refused (-32600); start a new session.",
  already_initialized:
    "A second initialize on one session (-32600); start a new session to connect again.",
  id_missing:
    "A request method sent as a notification (no id): dropped, never forwarded, and audited (a notification gets no answer).",
  server_requests_full:
    "An upstream already had 1,024 requests to the client (sampling, elicitation, ...) unanswered; its next one was refused and audited.",
  requests_full:
    "An HTTP session already had 1,024 requests awaiting their answers; the POST was refused (429, -32600) and audited.",
  held_full:
    "A client's notifications and answers waited behind asynchronous judgements, 1,024 of them; the next was dropped and audited.",
  session_unknown:
    "An HTTP request naming a session that ended, was collected as idle, or is another caller's (404); initialize again.",
  session_forward_busy:
    "A request for a session another gateway instance holds, past state.sessions.max_forwards forwards at once (503, Retry-After); retry shortly.",
  session_forward_failed:
    "A request forwarded to the gateway instance holding its session failed there (502); retry, or initialize a new session.",
  session_forward_timeout:
    "A request forwarded to the gateway instance holding its session got no answer head within state.sessions.forward_timeout_ms (504, audited naming that instance); retry, or initialize a new session.",
  session_owner_gone:
    "A request for a session held by a gateway instance that is gone (nothing listens at its address, or its name no longer exists): 404 as the MCP spec says, its record removed, audited naming that instance; initialize again.",
  session_owner_unreachable:
    "A request for a session held by a gateway instance that cannot be reached now (no route, connection timed out, name not resolving now): 503 with Retry-After, nothing sent, the record kept, audited naming that instance; retry (404 once its record expires).",
  session_forward_untrusted:
    "The gateway instance holding a session has an https instance URL and a certificate that does not verify against state.sessions.tls.ca (or Node's trust store), or an http one while state.sessions.tls.ca asks for TLS: the request was not sent (502, audited naming that instance); fix the instance's certificate, URL or the CA.",
} as const;

export type McpCode = keyof typeof MCP_CODES;

/**
 * The code of each problem `config_invalid` lists (a warden.yaml issue); see docs/errors.md.
 * `security_guards` problems carry the guards layer's `guard_config_invalid`.
 */
export const CONFIG_ISSUE_CODES = {
  yaml_syntax: "warden.yaml is not valid YAML; line and column are where the parser stopped.",
  too_deep:
    "warden.yaml nests mappings and sequences deeper than 64 levels; line, column and key are where.",
  unknown_key:
    'A key warden.yaml does not have; the message suggests the closest ("did you mean").',
  missing_key:
    "A required key is missing (policy, upstreams, an upstream's name and command or url).",
  invalid_value:
    "A value has the wrong type or is out of range; the message says what is accepted.",
  conflicting_keys: "Two keys that cannot go together; the message names both.",
  duplicate_name: "Two upstreams or two tokens have the same name.",
  ambiguous_name: "An upstream's name makes another's `<name>__` prefix ambiguous.",
  deprecated_key:
    "A warning, not an error: a key at its old place still works; the message names its new home.",
  insecure_listen:
    "listen.http reaches beyond loopback without TLS or tokens, and allow_insecure is not set.",
} as const;

export type ConfigIssueCode = keyof typeof CONFIG_ISSUE_CODES;
