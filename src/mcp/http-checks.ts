/**
 * The checks of the HTTP front before any MCP work: Host and Origin against DNS rebinding
 * (403) and the bearer tokens of the `auth` section (401; the caller is the matching token's
 * name), and `fail`, the front's JSON-RPC error answer.
 */
import { createHash, timingSafeEqual } from "node:crypto";
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
  /** The error's `data`, e.g. `{ warden: <code of docs/errors.md> }`. */
  data?: Record<string, unknown>,
): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify(errorResponse(null, code, message, data));
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    // a refusal before the body was read: close rather than read (and discard) that body
    ...(res.req.complete ? undefined : { connection: "close" }),
    ...headers,
  });
  res.end(body);
}

/** A token of the `auth` section with its value (read from its environment variable). */
export interface FrontToken {
  readonly name: string;
  readonly secret: string;
}

/** The caller of an HTTP front without tokens. */
export const ANONYMOUS = "anonymous";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** A bearer token that is none of the static tokens: for the OAuth check (http-oauth.ts). */
export interface Bearer {
  readonly bearer: string;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

export class FrontChecks {
  #hosts: Set<string>;
  /** auth.oauth: the WWW-Authenticate of a 401 (tokens are then required, even without static ones). */
  readonly #oauth: string | undefined;
  #okHosts = new Set<string>();
  /** SHA-256 of each accepted `Authorization` value, with its token's name. */
  #want: { name: string; hash: Buffer }[] = [];

  constructor(
    readonly cfg: HttpListenConfig,
    tokens: readonly FrontToken[],
    oauthChallenge?: string,
  ) {
    this.#oauth = oauthChallenge;
    this.#hosts = new Set([...LOOPBACK, ...cfg.allowedHosts.map((h) => h.toLowerCase())]);
    if (cfg.host !== "0.0.0.0" && cfg.host !== "::") this.#hosts.add(cfg.host.toLowerCase());
    for (const t of tokens) this.#want.push({ name: t.name, hash: digest(`Bearer ${t.secret}`) });
  }

  /** The caller of a request whose token is right: the token's name (constant time). */
  #caller(authorization: string | undefined): string | undefined {
    if (this.#want.length === 0) return this.#oauth === undefined ? ANONYMOUS : undefined;
    const got = digest(authorization ?? "");
    let name: string | undefined;
    for (const w of this.#want) if (timingSafeEqual(got, w.hash)) name ??= w.name;
    return name;
  }

  /**
   * Host, Origin (DNS rebinding) and bearer token: the caller (a token's name, or "anonymous"
   * without tokens), or undefined after answering 403 or 401.
   */
  check(req: IncomingMessage, res: ServerResponse): string | Bearer | undefined {
    const v = this.#verdict(req);
    if (typeof v === "string" || "bearer" in v) return v;
    fail(res, v.status, v.message, INVALID_REQUEST, v.headers ?? {});
    return undefined;
  }

  /** The bearer token of `req` for the OAuth check, if Host and Origin pass and it is no static token. */
  bearerOf(req: IncomingMessage): string | undefined {
    const v = this.#verdict(req);
    return typeof v === "object" && "bearer" in v ? v.bearer : undefined;
  }

  /** Would `check` let `req` through? (Nothing is answered.) */
  passes(req: IncomingMessage): boolean {
    return typeof this.#verdict(req) === "string";
  }

  #verdict(
    req: IncomingMessage,
  ): string | Bearer | { status: number; message: string; headers?: Record<string, string> } {
    const raw = req.headers.host ?? "";
    if (!this.#okHosts.has(raw)) {
      if (!this.#hosts.has(raw.toLowerCase().replace(/:\d+$/, "")))
        return {
          status: 403,
          message: `Forbidden: Host "${raw}" is not allowed (DNS rebinding protection). Add it to listen.http.allowed_hosts if it is yours.`,
        };
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
      if (!ok)
        return {
          status: 403,
          message: `Forbidden: Origin "${origin}" is not allowed. Add it to listen.http.allowed_origins if it is yours.`,
        };
    } else if (origin === "null") {
      return { status: 403, message: 'Forbidden: Origin "null" is not allowed.' };
    }
    const auth = req.headers.authorization;
    const name = this.#caller(auth);
    if (name !== undefined) return name;
    if (this.#oauth !== undefined) {
      const m = BEARER.exec(auth ?? "");
      if (m !== null) return { bearer: m[1]! };
      return {
        status: 401,
        message:
          "Unauthorized: send Authorization: Bearer <access token> from the authorization server named in the protected resource metadata (WWW-Authenticate: resource_metadata).",
        headers: { "www-authenticate": this.#oauth },
      };
    }
    return {
      status: 401,
      message:
        "Unauthorized: send Authorization: Bearer <token> with a token of the gateway's auth.tokens (each is read from its env variable).",
      headers: { "www-authenticate": 'Bearer realm="warden"' },
    };
  }
}
