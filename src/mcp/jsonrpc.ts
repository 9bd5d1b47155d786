/**
 * JSON-RPC message shapes as the gateway sees them: plain parsed objects, checked by hand
 * (cheap) instead of with a schema on every hop. Wire errors are made here and only here.
 */
export type Id = string | number;

export interface Request {
  jsonrpc: "2.0";
  id: Id;
  method: string;
  params?: Record<string, unknown>;
}
export interface Notification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface ResultResponse {
  jsonrpc: "2.0";
  id: Id;
  result: Record<string, unknown>;
}
export interface ErrorResponse {
  jsonrpc: "2.0";
  id: Id | null;
  error: { code: number; message: string; data?: unknown };
}
export type Message = Request | Notification | ResultResponse | ErrorResponse;

/** The JSON-RPC error code of a policy or guard denial (see docs/gateway.md, "Denials"). */
export const DENIED = -32003;
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** An upstream is down or restarting. */
export const UPSTREAM_UNAVAILABLE = -32004;

export function isRequest(m: Message): m is Request {
  return "method" in m && "id" in m && m.id !== undefined && m.id !== null;
}
export function isNotification(m: Message): m is Notification {
  return "method" in m && !("id" in m && m.id !== undefined && m.id !== null);
}
export function isResponse(m: Message): m is ResultResponse | ErrorResponse {
  return !("method" in m) && ("result" in m || "error" in m);
}

/** A structural check of one parsed JSON value; returns the reason it is not a message. */
export function invalidMessage(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== "2.0") return 'missing "jsonrpc": "2.0"';
  if (typeof o.method === "string") {
    if (o.params !== undefined && (typeof o.params !== "object" || o.params === null))
      return '"params" must be an object';
    if (o.id !== undefined && typeof o.id !== "string" && typeof o.id !== "number")
      return '"id" must be a string or a number';
    return undefined;
  }
  if ("result" in o || "error" in o) return undefined;
  return 'neither a request ("method") nor a response ("result" / "error")';
}

export function errorResponse(
  id: Id | null,
  code: number,
  message: string,
  data?: unknown,
): ErrorResponse {
  const error: ErrorResponse["error"] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}

export function resultResponse(id: Id, result: Record<string, unknown>): ResultResponse {
  return { jsonrpc: "2.0", id, result };
}
