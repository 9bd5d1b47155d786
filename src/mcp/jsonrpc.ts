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
/** An upstream did not answer within its request_timeout_ms (the SDK's RequestTimeout code). */
export const UPSTREAM_TIMEOUT = -32001;

export function isRequest(m: Message): m is Request {
  return "method" in m && "id" in m && m.id !== undefined && m.id !== null;
}
export function isNotification(m: Message): m is Notification {
  return "method" in m && !("id" in m && m.id !== undefined && m.id !== null);
}
export function isResponse(m: Message): m is ResultResponse | ErrorResponse {
  return !("method" in m) && ("result" in m || "error" in m);
}

/** How deep a JSON message may nest by default (objects and arrays; `limits.json_depth`). */
export const MAX_DEPTH = 128;

/**
 * True when `v` nests more than `max` levels of objects and arrays (`{}` is one level). Walks the
 * parsed value, not the text: a long string costs nothing; recursion stops at `max`.
 */
export function tooDeep(v: unknown, max: number): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (max <= 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (tooDeep(v[i], max - 1)) return true;
    return false;
  }
  for (const k in v) if (tooDeep((v as Record<string, unknown>)[k], max - 1)) return true;
  return false;
}

/**
 * A structural check of one parsed JSON value; returns the reason it is not a message. Also
 * refuses what the gateway could not serialize again: nesting deeper than `maxDepth`.
 */
export function invalidMessage(v: unknown, maxDepth = MAX_DEPTH): string | undefined {
  const bad = invalidShape(v);
  if (bad !== undefined) return bad;
  if (tooDeep(v, maxDepth))
    return `it nests deeper than ${maxDepth} levels (limits.json_depth in warden.yaml)`;
  return undefined;
}

function invalidShape(v: unknown): string | undefined {
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
  if ("result" in o || "error" in o) {
    if (o.id !== null && typeof o.id !== "string" && typeof o.id !== "number")
      return 'the "id" of an answer must be a string, a number or null';
    if ("result" in o && "error" in o) return 'an answer has "result" or "error", not both';
    if ("result" in o) {
      const r = o.result;
      if (typeof r !== "object" || r === null || Array.isArray(r))
        return '"result" must be an object';
      return undefined;
    }
    const e = o.error as { code?: unknown; message?: unknown } | null;
    if (typeof e !== "object" || e === null || typeof e.code !== "number")
      return '"error" must be an object with a numeric "code"';
    if (typeof e.message !== "string") return '"error.message" must be a string';
    return undefined;
  }
  return 'neither a request ("method") nor a response ("result" / "error")';
}

const VERSION_FIRST = '{"jsonrpc":"2.0",';

/**
 * `raw`, the text of a parsed answer whose id is `from`, with that id replaced by `to`; or
 * undefined when the replacement cannot be proven right without a parser. It can be when `"id"`
 * occurs once in the text and neither of its letters is written as a `\u` escape (so the object
 * has no second id key a client's parser could read instead), in one of the two layouts the SDKs
 * write: last (`…,"id":7}`, TypeScript) or right after the version (`{"jsonrpc":"2.0","id":7,…`,
 * Python). The text parsed as one JSON object, so in either layout that `"id"` is a key of the
 * top-level object and `7` its whole value.
 */
export function answerWithId(raw: string, from: number, to: Id): string | undefined {
  const at = raw.indexOf('"id"');
  if (at < 0 || raw.charCodeAt(at + 4) !== 58 || raw.indexOf('"id"', at + 4) >= 0) return undefined;
  if (raw.includes("\\u0069") || raw.includes("\\u0064")) return undefined;
  const g = String(from);
  const value = at + 5;
  if (!raw.startsWith(g, value)) return undefined;
  const out = typeof to === "number" ? String(to) : JSON.stringify(to);
  const after = value + g.length;
  if (at === VERSION_FIRST.length && raw.startsWith(VERSION_FIRST) && raw.charCodeAt(after) === 44)
    return `${raw.slice(0, value)}${out}${raw.slice(after)}`;
  if (after === raw.length - 1 && raw.charCodeAt(after) === 125 && raw.charCodeAt(at - 1) === 44)
    return `${raw.slice(0, value)}${out}}`;
  return undefined;
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
