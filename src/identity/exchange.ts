/**
 * OAuth 2.0 Token Exchange (RFC 8693) for upstreams: the client's token is never sent to an
 * upstream (the MCP spec forbids token passthrough); an upstream with `token_exchange` gets a
 * token the authorization server issues for it, in exchange for the client's, at
 * `auth.oauth.token_endpoint`. Tokens are kept until shortly before they expire, per client
 * token and upstream, at most MAX_EXCHANGED of them; concurrent asks for one share one request.
 */
import { createHash } from "node:crypto";
import { WardenError } from "../core/errors.js";
import { boundedFetch } from "./jwks.js";
import type { OAuthSettings } from "./types.js";

export const MAX_EXCHANGED = 1024;
/** An exchanged token is asked for again this long before it expires. */
export const EXCHANGE_MARGIN_MS = 30_000;
const TIMEOUT_MS = 10_000;
const MAX_ANSWER = 64 * 1024;
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/** What an upstream's token is asked for (`upstreams[].token_exchange`). */
export interface ExchangeTarget {
  readonly upstream: string;
  /** The upstream's resource URI (RFC 8707 `resource`). */
  readonly resource: string;
  readonly audience?: string;
  readonly scopes: readonly string[];
}

const fail = (t: ExchangeTarget, why: string, cause?: unknown) =>
  new WardenError(
    "token_exchange_failed",
    `Upstream "${t.upstream}": the token exchange at auth.oauth.token_endpoint failed: ${why}. Check that the authorization server allows the gateway's client to exchange tokens for ${t.resource}.`,
    { category: "config", cause, details: { upstream: t.upstream } },
  );

export class TokenExchange {
  readonly #s: OAuthSettings;
  readonly #fetch = boundedFetch(MAX_ANSWER);
  readonly #cache = new Map<string, { token: Promise<string>; until: number }>();
  /** Requests made to the token endpoint (for tests). */
  requests = 0;

  constructor(s: OAuthSettings) {
    this.#s = s;
  }

  /** When the token for `t` exchanged for `subjectToken` is to be asked for again (ms), if known. */
  renewAt(subjectToken: string, t: ExchangeTarget): number | undefined {
    const hit = this.#cache.get(this.#key(subjectToken, t));
    return hit === undefined || hit.until === Number.POSITIVE_INFINITY ? undefined : hit.until;
  }

  #key(subjectToken: string, t: ExchangeTarget): string {
    return `${createHash("sha256").update(subjectToken).digest("base64url")} ${t.upstream}`;
  }

  /** A token for `t` in exchange for `subjectToken` (cached until shortly before it expires). */
  token(subjectToken: string, t: ExchangeTarget, now = Date.now()): Promise<string> {
    const key = this.#key(subjectToken, t);
    const hit = this.#cache.get(key);
    if (hit !== undefined && now < hit.until) return hit.token;
    this.#cache.delete(key);
    if (this.#cache.size >= MAX_EXCHANGED) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    const entry = { token: Promise.resolve(""), until: Number.POSITIVE_INFINITY };
    entry.token = this.#ask(subjectToken, t).then(
      ({ token, expiresIn }) => {
        entry.until = Date.now() + Math.max(0, expiresIn * 1000 - EXCHANGE_MARGIN_MS);
        return token;
      },
      (e) => {
        this.#cache.delete(key);
        throw e;
      },
    );
    this.#cache.set(key, entry);
    return entry.token;
  }

  async #ask(
    subjectToken: string,
    t: ExchangeTarget,
  ): Promise<{ token: string; expiresIn: number }> {
    const s = this.#s;
    const form = new URLSearchParams({
      grant_type: GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      requested_token_type: ACCESS_TOKEN,
      resource: t.resource,
    });
    if (t.audience !== undefined) form.set("audience", t.audience);
    if (t.scopes.length > 0) form.set("scope", t.scopes.join(" "));
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    };
    if (s.clientId !== undefined) {
      const secret = s.clientSecretEnv === undefined ? "" : (process.env[s.clientSecretEnv] ?? "");
      const enc = (v: string) => encodeURIComponent(v);
      headers.authorization = `Basic ${Buffer.from(`${enc(s.clientId)}:${enc(secret)}`).toString("base64")}`;
    }
    this.requests++;
    let res: Response;
    try {
      res = await this.#fetch(s.tokenEndpoint as string, {
        method: "POST",
        headers,
        body: form.toString(),
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw fail(t, `no answer from ${s.tokenEndpoint} (${(e as Error).message})`, e);
    }
    let body: Record<string, unknown>;
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch (e) {
      throw fail(t, `HTTP ${res.status}, not JSON`, e);
    }
    if (res.status !== 200) {
      const err = typeof body.error === "string" ? body.error : "no error code";
      const desc = typeof body.error_description === "string" ? `: ${body.error_description}` : "";
      throw fail(t, `HTTP ${res.status}, ${err}${desc}`);
    }
    const token = body.access_token;
    if (typeof token !== "string" || token === "" || /[^\x21-\x7e]/.test(token))
      throw fail(t, "the answer has no usable access_token");
    if (typeof body.token_type === "string" && body.token_type.toLowerCase() !== "bearer")
      throw fail(t, `the token_type is ${body.token_type}, not Bearer`);
    if (token === subjectToken) throw fail(t, "the server handed back the client's own token");
    const exp = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 300;
    return { token, expiresIn: exp };
  }
}
