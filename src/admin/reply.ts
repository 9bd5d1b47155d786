/**
 * Errors as the admin API answers them: `{ "error": <what>, "code": <docs/errors.md code>,
 * "message": <what to do>, "details"?: {...} }`, with the status the code maps to. Wire errors
 * are made here only; the layers below throw WardenErrors.
 */
import type { FastifyReply } from "fastify";
import { WardenError } from "../core/errors.js";

/** The HTTP status of each error code the admin API answers with (default 500). */
const STATUS: Readonly<Record<string, number>> = {
  admin_bad_request: 400,
  admin_unauthorized: 401,
  admin_forbidden: 403,
  admin_route_not_found: 404,
  admin_too_large: 413,
  admin_unavailable: 501,
  // registry
  plugin_name_invalid: 400,
  plugin_not_found: 404,
  plugin_exists: 409,
  plugin_disabled: 409,
  registry_full: 507,
  registry_unwritable: 500,
  // state.redis: the shared registry cannot be changed, the pins read, while Redis is down
  state_unavailable: 503,
  // rug_pull pins (the page's Approve): no such pending change; a value that is not a pin
  pin_not_found: 404,
  // the page's live decision streams: 429 for one caller's bound, 503 for the total (routes.ts)
  admin_streams_full: 503,
  pins_invalid: 500,
  // sandbox: a module that cannot be a plugin is a bad request; limits are 422; size 413
  compile_error: 400,
  link_error: 400,
  missing_export: 400,
  init_failed: 400,
  not_found: 400,
  too_large: 413,
  invalid_limit: 422,
  invalid_input: 422,
  // a plugin that failed while running (POST .../test): the plugin, not the request, failed
  timeout: 502,
  memory_exceeded: 502,
  fuel_exhausted: 502,
  trap: 502,
  invalid_output: 502,
  policy_bad_action: 422,
  rules_bad_action: 422,
  rules_invalid: 422,
};

/** The short `error` text of a code (the seed's `{"error": "plugin not found"}`). */
const SHORT: Readonly<Record<string, string>> = {
  plugin_not_found: "plugin not found",
  plugin_exists: "plugin already registered",
  registry_full: "plugin registry full",
  admin_unauthorized: "unauthorized",
  admin_forbidden: "forbidden",
  admin_route_not_found: "not found",
  admin_too_large: "request too large",
  too_large: "module too large",
  invalid_limit: "invalid limit",
  plugin_name_invalid: "invalid plugin name",
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

export interface ErrorBody {
  error: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export function errorBody(code: string, message: string, details?: object): ErrorBody {
  const body: ErrorBody = { error: SHORT[code] ?? code.replaceAll("_", " "), code, message };
  if (details !== undefined && Object.keys(details).length > 0)
    body.details = { ...(details as Record<string, unknown>) };
  return body;
}

/** Answer a code with its status and body. */
export function sendError(
  reply: FastifyReply,
  code: string,
  message: string,
  details?: object,
  status = statusOf(code),
): FastifyReply {
  return reply
    .code(status)
    .type("application/json")
    .send(errorBody(code, message, details));
}

/** Answer a thrown error: a WardenError by its code, anything else as a 500 without its text. */
export function sendThrown(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof WardenError)
    return sendError(reply, error.code, error.message, error.details);
  return sendError(reply, "internal", "the admin API failed unexpectedly; see its log", {}, 500);
}
