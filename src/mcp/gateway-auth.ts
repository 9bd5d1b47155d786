/**
 * The `auth` section at the HTTP front, at start and on a hot reload (docs/identity.md,
 * "Reload"): the static tokens' values read from their environment variables, the OAuth
 * resource server built, and on a reload which open sessions may go on. A reload applies a new
 * `auth` at once (a removed token stops working with the next request) or is refused whole
 * with the reason (the auth in force keeps working); it never leaves a config that says one
 * thing while the front does another.
 */
import { WardenError } from "../core/errors.js";
import type { AuthConfig, GatewayConfig, HttpListenConfig } from "./config-types.js";
import type { FrontToken } from "./http-checks.js";
import { FrontOAuth } from "./http-oauth.js";

/** The tokens of `auth.tokens` with their values; throws config_invalid naming an unset variable. */
export function frontTokens(auth: AuthConfig | undefined, file: string): FrontToken[] {
  return (auth?.tokens ?? []).map((t) => {
    const secret = process.env[t.env];
    if (!secret)
      throw new WardenError(
        "config_invalid",
        `${file}: token "${t.name}" of auth.tokens is read from $${t.env}, which is not set; export the token its clients must send.`,
        { category: "config" },
      );
    return { name: t.name, secret };
  });
}

/** The OAuth front of `auth.oauth` (its JWKS file read now), told the static tokens' names. */
export function frontOAuth(
  auth: AuthConfig | undefined,
  tokens: readonly FrontToken[],
): FrontOAuth | undefined {
  const oauth = auth?.oauth;
  return oauth === undefined
    ? undefined
    : new FrontOAuth(oauth, new Set(tokens.map((t) => t.name)));
}

/** A new `auth` ready to be put in force. */
export interface AuthSwap {
  readonly tokens: readonly FrontToken[];
  readonly oauth: FrontOAuth | undefined;
  /**
   * May an open session of `caller` (authenticated by OAuth or not) go on? Not when its caller
   * could now name someone else: its static token was removed or changed, auth.oauth changed
   * (another issuer's "alice" is another person), its subject is now a static token's name, or
   * an anonymous session meets a front that now takes tokens.
   */
  keep(caller: string, viaOAuth: boolean): boolean;
}

const LOOPBACK = /^(localhost|::1|\[::1\]|127\.\d+\.\d+\.\d+)$/i;

/**
 * What a reload from `prev` to `next` does to the front listening with `running`: nothing
 * (auth unchanged), a swap, or the errors that refuse the reload (each naming the file and key).
 */
export function authReload(
  prev: GatewayConfig,
  next: GatewayConfig,
  running: HttpListenConfig,
): { ok: true; swap?: AuthSwap } | { ok: false; errors: string[] } {
  if (JSON.stringify(next.auth) === JSON.stringify(prev.auth)) return { ok: true };
  const where = `${next.file}: auth`;
  const open = (next.auth?.tokens.length ?? 0) === 0 && next.auth?.oauth === undefined;
  // listen is read at start: the new auth is judged against the listener in force
  if (open && !LOOPBACK.test(running.host) && running.allowInsecure !== true)
    return {
      ok: false,
      errors: [
        `${where}: the new config has no tokens and no auth.oauth, but the gateway listens on ${running.host} (beyond loopback; listen is read at start): the reload is refused and the auth in force kept. Keep a token, or restart the gateway with listen.http.host 127.0.0.1.`,
      ],
    };
  let tokens: FrontToken[];
  let oauth: FrontOAuth | undefined;
  try {
    tokens = frontTokens(next.auth, next.file);
    oauth = frontOAuth(next.auth, tokens);
  } catch (e) {
    return {
      ok: false,
      errors: [
        `${(e as Error).message} The reload is refused and the auth in force kept (the gateway's environment is read at start: a new variable needs a restart).`,
      ],
    };
  }
  const env = (a: AuthConfig | undefined) => new Map((a?.tokens ?? []).map((t) => [t.name, t.env]));
  const before = env(prev.auth);
  const after = env(next.auth);
  const wasOpen = before.size === 0 && prev.auth?.oauth === undefined;
  const sameOAuth = JSON.stringify(prev.auth?.oauth) === JSON.stringify(next.auth?.oauth);
  return {
    ok: true,
    swap: {
      tokens,
      oauth,
      keep(caller, viaOAuth) {
        if (viaOAuth) return sameOAuth && next.auth?.oauth !== undefined && !after.has(caller);
        if (wasOpen) return open;
        return before.has(caller) && after.get(caller) === before.get(caller);
      },
    },
  };
}
