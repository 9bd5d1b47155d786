/**
 * The checks of the HTTP front before any MCP work: Host and Origin against DNS rebinding
 * (403) and the optional bearer token (401), and `fail`, the front's JSON-RPC error answer.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpListenConfig } from "./config-types.js";
import { errorResponse, INVALID_REQUEST } from "./jsonrpc.js";

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]", "::1"];
/** Host header values (as sent) already accepted, so the usual request skips the parse. */
const MAX_HOST_CACHE = 64;

/** Answer an HTTP error with a JSON-RPC error body saying what to do. */
export function fail(
  res: ServerResponse,
  status: number,
  message: string,
  code = INVALID_REQUEST,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify(errorResponse(null, code, message));
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    // a refusal before the body was read: close rather than read (and discard) that body
    ...(res.req.complete ? undefined : { connection: "close" }),
    ...headers,
  });
  res.end(body);
}

export class FrontChecks {
  #hosts: Set<string>;
  #okHosts = new Set<string>();
  #want: Buffer | undefined;

  constructor(
    readonly cfg: HttpListenConfig,
    token: string | undefined,
  ) {
    this.#hosts = new Set([...LOOPBACK, ...cfg.allowedHosts.map((h) => h.toLowerCase())]);
    if (cfg.host !== "0.0.0.0" && cfg.host !== "::") this.#hosts.add(cfg.host.toLowerCase());
    if (token !== undefined) this.#want = Buffer.from(`Bearer ${token}`);
  }

  /** Host, Origin (DNS rebinding) and bearer token; false after answering 403 or 401. */
  check(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = req.headers.host ?? "";
    if (!this.#okHosts.has(raw)) {
      if (!this.#hosts.has(raw.toLowerCase().replace(/:\d+$/, ""))) {
        fail(
          res,
          403,
          `Forbidden: Host "${raw}" is not allowed (DNS rebinding protection). Add it to listen.http.allowed_hosts if it is yours.`,
        );
        return false;
      }
      if (this.#okHosts.size < MAX_HOST_CACHE) this.#okHosts.add(raw);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== "null") {
      let ok = this.cfg.allowedOrigins.includes(origin);
      if (!ok) {
        try {
          ok =
            this.#hosts.has(new URL(origin).hostname.toLowerCase()) ||
            this.#hosts.has(`[${new URL(origin).hostname}]`);
        } catch {}
      }
      if (!ok) {
        fail(
          res,
          403,
          `Forbidden: Origin "${origin}" is not allowed. Add it to listen.http.allowed_origins if it is yours.`,
        );
        return false;
      }
    } else if (origin === "null") {
      fail(res, 403, 'Forbidden: Origin "null" is not allowed.');
      return false;
    }
    const want = this.#want;
    if (want !== undefined) {
      const got = Buffer.from(req.headers.authorization ?? "");
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        fail(
          res,
          401,
          "Unauthorized: send Authorization: Bearer <token> (the token is in the gateway's listen.http.bearer_env variable).",
          INVALID_REQUEST,
          { "www-authenticate": 'Bearer realm="warden"' },
        );
        return false;
      }
    }
    return true;
  }
}
