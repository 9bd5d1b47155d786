/**
 * What the gateway refuses before judging, as the protocol says (see docs/gateway.md, "Sessions
 * and routing"): requests outside the MCP lifecycle, ids JSON cannot carry exactly, request
 * methods sent as notifications, and methods MCP does not define.
 */
import type { Decision } from "../core/decision.js";
import {
  type ErrorResponse,
  errorResponse,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  type Request,
} from "./jsonrpc.js";

export type Lifecycle = "new" | "initializing" | "ready" | "refused";

/**
 * A client request refused before routing: an id that is a number but not a safe integer (JSON
 * numbers past 2^53 lose digits, 1e400 parses as Infinity, so its answer could not name it), or
 * any method but initialize and ping outside a ready session (the MCP lifecycle).
 */
export function refuseRequest(m: Request, lifecycle: Lifecycle): ErrorResponse | undefined {
  if (typeof m.id === "number" && !Number.isSafeInteger(m.id))
    return errorResponse(
      m.id,
      INVALID_REQUEST,
      `Invalid Request: the ${m.method} request's id ${String(m.id)} (as parsed) is not a safe integer, so its answer could not carry it exactly; use an integer from -(2^53-1) to 2^53-1 or a string id.`,
      { warden: "id_unsafe" },
    );
  if (lifecycle === "ready" || m.method === "initialize" || m.method === "ping") return undefined;
  return errorResponse(
    m.id,
    INVALID_REQUEST,
    lifecycle === "refused"
      ? `Invalid Request: ${m.method} on a session whose initialize failed or was refused; start a new session.`
      : `Invalid Request: ${m.method} before initialize; the session is not initialized. Send initialize first and wait for its answer (MCP lifecycle).`,
    { warden: lifecycle === "refused" ? "session_refused" : "not_initialized" },
  );
}

/** Why a request method sent without an id (a notification) is dropped. */
export function withoutId(method: string): string {
  return `"${method}" was sent without an id (a notification): a request must carry an id to be judged and answered; not forwarded`;
}

/** -32601 for a method MCP does not define that the policy does not let through (`d`). */
export function unknownMethod(req: Request, d: Decision, policyFile: string): ErrorResponse {
  const why =
    d.details?.code === "deny_rule"
      ? `the rule at ${d.rule} denies it; remove or narrow that rule to pass it through`
      : `to pass it through to the upstream, list it under mcp.methods.allow in ${policyFile} (e.g. methods: { allow: ["${req.method}"] })`;
  return errorResponse(
    req.id,
    METHOD_NOT_FOUND,
    `Method not found: "${req.method}" is not an MCP request the Warden gateway knows, and it does not pass unknown methods through unjudged: ${why}.`,
    { warden: "method_unknown", method: req.method, policy: policyFile },
  );
}
