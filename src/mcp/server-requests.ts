/**
 * The bound on server→client requests (sampling, elicitation, ...) waiting for the client's
 * answer: per client session, and per shared upstream. A hostile or broken upstream whose
 * requests the client reads but never answers cannot grow the gateway's tables without end;
 * past the bound each new request is answered with an error (code `server_requests_full`).
 */
import { type ErrorResponse, errorResponse, INTERNAL_ERROR, type Request } from "./jsonrpc.js";

export const MAX_SERVER_REQUESTS = 1024;

/** The error an upstream gets for a request past the bound; `why` names the upstream. */
export function serverRequestsFull(m: Request, why: string): ErrorResponse {
  return errorResponse(
    m.id,
    INTERNAL_ERROR,
    `Warden: ${why}, so this ${m.method} was refused; wait for the client to answer some.`,
    { warden: "server_requests_full" },
  ) as ErrorResponse;
}
