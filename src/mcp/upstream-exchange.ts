/**
 * The connection to an HTTP upstream with `token_exchange` (docs/identity.md): its bearer token
 * comes from an RFC 8693 exchange of the session's access token at auth.oauth.token_endpoint
 * (the identity layer's TokenExchange, cached); the client's own token is never sent upstream.
 */
import { WardenError } from "../core/errors.js";
import { type OAuthSettings, TokenExchange } from "../identity/index.js";
import type { HttpUpstreamConfig, MessageLimits } from "./config-types.js";
import type { Downstream } from "./session-core.js";
import { createUpstreamTransport, type UpstreamTransport } from "./upstream-transport.js";

/** Connect `cfg` for the session of `down`, with a token exchanged for it. */
export type ExchangeConnect = (
  cfg: HttpUpstreamConfig,
  down: Downstream,
  limits?: MessageLimits,
) => Promise<UpstreamTransport>;

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
    const token = await exchange.token(p.token, {
      upstream: cfg.name,
      resource: t.resource,
      ...(t.audience === undefined ? {} : { audience: t.audience }),
      scopes: t.scopes,
    });
    const headers = { ...cfg.headers, authorization: `Bearer ${token}` };
    return createUpstreamTransport({ ...cfg, bearerEnv: undefined, headers }, limits);
  };
  return { exchange, connect };
}
