/**
 * The connection to an HTTP upstream with `token_exchange` (docs/identity.md): its bearer token
 * comes from an RFC 8693 exchange of the session's access token at auth.oauth.token_endpoint
 * (the identity layer's TokenExchange, cached); the client's own token is never sent upstream.
 */
import { WardenError } from "../core/errors.js";
import { type ExchangeTarget, type OAuthSettings, TokenExchange } from "../identity/index.js";
import type { HttpUpstreamConfig, MessageLimits } from "./config-types.js";
import type { HttpClientTransport } from "./http-client.js";
import type { Downstream } from "./session-core.js";
import { createUpstreamTransport, type UpstreamTransport } from "./upstream-transport.js";

/** Connect `cfg` for the session of `down`, with a token exchanged for it. */
export type ExchangeConnect = (
  cfg: HttpUpstreamConfig,
  down: Downstream,
  limits?: MessageLimits,
) => Promise<UpstreamTransport>;

/**
 * Before the exchanged token expires, exchange the session's latest access token again and send
 * the new one from then on (until the connection closes, or no exchange succeeds: the upstream
 * then refuses the old token and the link fails as any upstream failure does).
 */
function renew(
  exchange: TokenExchange,
  t: HttpClientTransport,
  down: Downstream,
  target: ExchangeTarget,
  subject: string,
): void {
  const at = exchange.renewAt(subject, target);
  if (at === undefined) return;
  const timer = setTimeout(
    async () => {
      const p = down.principal;
      if (t.closed || p === undefined) return;
      try {
        const next = await exchange.token(p.token, target);
        if (t.closed) return;
        t.setAuthorization(`Bearer ${next}`);
        renew(exchange, t, down, target, p.token);
      } catch {
        // the upstream refuses the old token from now on: its link fails and says so
      }
    },
    Math.max(1000, at - Date.now()),
  );
  timer.unref();
}

export function exchangeConnector(oauth: OAuthSettings): {
  exchange: TokenExchange;
  connect: ExchangeConnect;
} {
  const exchange = new TokenExchange(oauth);
  const connect: ExchangeConnect = async (cfg, down, limits) => {
    const t = cfg.tokenExchange;
    const p = down.principal;
    if (t === undefined || p === undefined)
      throw new WardenError(
        "token_exchange_failed",
        `Upstream "${cfg.name}" gets its token by exchanging the caller's access token (token_exchange), and caller "${down.caller}" did not send one (a static token, or stdio); connect with an OAuth access token, or give the upstream its own credentials (bearer_env).`,
        { category: "config", details: { upstream: cfg.name } },
      );
    const target = {
      upstream: cfg.name,
      resource: t.resource,
      ...(t.audience === undefined ? {} : { audience: t.audience }),
      scopes: t.scopes,
    };
    const token = await exchange.token(p.token, target);
    const headers = { ...cfg.headers, authorization: `Bearer ${token}` };
    const up = await createUpstreamTransport({ ...cfg, bearerEnv: undefined, headers }, limits);
    renew(exchange, up.transport as HttpClientTransport, down, target, p.token);
    return up;
  };
  return { exchange, connect };
}
