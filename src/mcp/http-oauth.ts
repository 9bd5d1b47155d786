/**
 * The HTTP front as an OAuth resource server (auth.oauth; docs/identity.md): a bearer token
 * that is none of the static tokens is checked by the identity layer's JwtVerifier; its subject
 * becomes the caller, its groups and scopes go with the request (`principalOf`) to the session
 * the policy judges. Refusals carry the WWW-Authenticate challenge pointing at the protected
 * resource metadata, served here on GET (RFC 9728).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  challenge,
  JwtVerifier,
  metadataPaths,
  type OAuthSettings,
  type Principal,
  protectedResourceMetadata,
} from "../identity/index.js";
import { fail } from "./http-checks.js";
import { INVALID_REQUEST } from "./jsonrpc.js";

/** Who each request authenticated by OAuth is (read when its messages reach a session). */
const PRINCIPALS = new WeakMap<IncomingMessage, Principal>();

/** The OAuth principal of `req`, if it authenticated with an access token. */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return PRINCIPALS.get(req);
}

export class FrontOAuth {
  readonly verifier: JwtVerifier;
  /** The WWW-Authenticate of a 401 without a token. */
  readonly challenge: string;
  readonly #paths: ReadonlySet<string>;
  readonly #metadata: string;

  constructor(
    readonly settings: OAuthSettings,
    /** The names of the static tokens: a subject of the same name is refused (one caller each). */
    readonly tokenNames: ReadonlySet<string> = new Set(),
    verifier?: JwtVerifier,
  ) {
    this.verifier = verifier ?? new JwtVerifier(settings);
    this.challenge = challenge(settings);
    this.#paths = new Set(metadataPaths(settings.audience));
    this.#metadata = JSON.stringify(protectedResourceMetadata(settings));
  }

  /** Is `token` a valid access token of a caller (for /readyz's details; nothing answered)? */
  async vouches(token: string): Promise<boolean> {
    const v = await this.verifier.verify(token);
    return v.ok && !this.tokenNames.has(v.principal.caller);
  }

  /** What /readyz's details say of auth.oauth: the issuer's keys, states only. */
  health(): Record<string, unknown> {
    const keys = this.verifier.keysState();
    return keys === undefined ? { jwks: "file" } : { jwks: "uri", ...keys };
  }

  /** Serve the protected resource metadata when `path` is its; false when it is not. */
  serveMetadata(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!this.#paths.has(path)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      fail(res, 405, "Method not allowed: GET the protected resource metadata.", INVALID_REQUEST, {
        allow: "GET, HEAD",
      });
      return true;
    }
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(this.#metadata)),
      "cache-control": "max-age=300",
    });
    res.end(req.method === "HEAD" ? undefined : this.#metadata);
    return true;
  }

  /**
   * Check `token`; call `then` with its caller, or answer 401 (invalid_token), 403
   * (insufficient_scope) or 503 (the issuer's keys cannot be fetched).
   */
  authenticate(
    req: IncomingMessage,
    res: ServerResponse,
    token: string,
    then: (caller: string) => void,
  ): void {
    this.verifier.verify(token).then(
      (v) => {
        if (res.destroyed) return;
        if (v.ok && this.tokenNames.has(v.principal.caller))
          return this.#refuse(
            res,
            401,
            "invalid_token",
            "token_invalid",
            `the token's subject "${v.principal.caller}" is also the name of a static token of auth.tokens; rename that token so that each caller is one identity`,
          );
        if (v.ok) {
          PRINCIPALS.set(req, v.principal);
          return then(v.principal.caller);
        }
        if (v.status === 503)
          return fail(
            res,
            503,
            `Service Unavailable: ${v.message}.`,
            INVALID_REQUEST,
            { "retry-after": "5" },
            { warden: v.code },
          );
        const error = v.status === 403 ? "insufficient_scope" : "invalid_token";
        this.#refuse(res, v.status, error, v.code, v.message);
      },
      (e: Error) => this.#refuse(res, 401, "invalid_token", "token_invalid", e.message),
    );
  }

  #refuse(
    res: ServerResponse,
    status: number,
    error: "invalid_token" | "insufficient_scope",
    code: string,
    why: string,
  ): void {
    const head = status === 403 ? "Forbidden" : "Unauthorized";
    fail(
      res,
      status,
      `${head}: ${why}.`,
      INVALID_REQUEST,
      { "www-authenticate": challenge(this.settings, error, why) },
      { warden: code },
    );
  }
}
