/**
 * `auth.oauth` and `upstreams[].token_exchange` of warden.yaml (docs/identity.md), after the
 * schema pass: defaults, the JWKS file made absolute, and what a schema cannot say: one of
 * jwks_uri and jwks_file, URLs that parse (https, or http on loopback), an HTTP listener, and
 * a token endpoint for the upstreams that exchange tokens.
 */
import { type Algorithm, DEFAULT_ALGORITHMS, type OAuthSettings } from "../identity/index.js";
import type { ConfigIssueCode } from "./codes.js";
import type { ListenConfig, UpstreamConfig } from "./config-types.js";

type Obj = Record<string, unknown>;
type Path = (string | number)[];

/** What of config.ts's Checker this file uses. */
interface Checker {
  obj(v: unknown): Obj | undefined;
  str(o: Obj, k: string): string | undefined;
  strList(o: Obj, k: string): string[];
  int(o: Obj, k: string, dflt: number): number;
  add(path: Path, message: string, code?: ConfigIssueCode): void;
}

const LOOPBACK = /^(localhost|\[::1\]|127\.\d+\.\d+\.\d+)$/i;

/** A URL the gateway sends tokens or trusts keys from: https, or http on loopback only. */
function secureUrl(c: Checker, at: Path, v: string | undefined, what: string): void {
  if (v === undefined) return;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    c.add(at, `${what} "${v}" is not a URL.`);
    return;
  }
  if (u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.test(u.hostname))) return;
  c.add(at, `${what} "${v}" must be https:// (http:// only on loopback, for tests).`);
}

export function oauthKeys(
  c: Checker,
  root: Obj,
  abs: (p: string) => string,
  l: ListenConfig,
): OAuthSettings | undefined {
  const o = c.obj(c.obj(root.auth)?.oauth);
  if (o === undefined) return undefined;
  const at = (k: string): Path => ["auth", "oauth", k];
  const issuer = c.str(o, "issuer") ?? "";
  const audience = c.str(o, "audience") ?? "";
  const jwksUri = c.str(o, "jwks_uri");
  const jwksFile = c.str(o, "jwks_file");
  if (l.kind !== "http")
    c.add(
      ["auth", "oauth"],
      "auth.oauth checks access tokens sent over HTTP: it needs listen: { http: ... } (a stdio client is its own caller).",
      "conflicting_keys",
    );
  if (jwksUri !== undefined && jwksFile !== undefined)
    c.add(at("jwks_file"), "Write one of jwks_uri and jwks_file, not both.", "conflicting_keys");
  if (jwksUri === undefined && jwksFile === undefined)
    c.add(
      ["auth", "oauth"],
      "auth.oauth needs the issuer's keys: jwks_uri (its JWKS URL) or jwks_file (a JWKS file).",
      "missing_key",
    );
  secureUrl(c, at("issuer"), issuer, "auth.oauth.issuer");
  secureUrl(c, at("jwks_uri"), jwksUri, "auth.oauth.jwks_uri");
  const tokenEndpoint = c.str(o, "token_endpoint");
  secureUrl(c, at("token_endpoint"), tokenEndpoint, "auth.oauth.token_endpoint");
  try {
    const u = new URL(audience);
    if ((u.protocol !== "https:" && u.protocol !== "http:") || u.hash !== "")
      throw new Error("scheme");
  } catch {
    c.add(
      at("audience"),
      `auth.oauth.audience "${audience}" must be the gateway's own resource URI, an http(s) URL without a fragment (e.g. https://mcp.example.com/mcp).`,
    );
  }
  const clientId = c.str(o, "client_id");
  const clientSecretEnv = c.str(o, "client_secret_env");
  if (clientSecretEnv !== undefined && clientId === undefined)
    c.add(
      at("client_secret_env"),
      "client_secret_env needs client_id (the gateway's client).",
      "missing_key",
    );
  const required = c.strList(o, "required_scopes");
  const algs = c.strList(o, "algorithms") as Algorithm[];
  const servers = c.strList(o, "authorization_servers");
  const supported = c.strList(o, "scopes_supported");
  const s: OAuthSettings = {
    issuer,
    audience,
    ...(jwksUri === undefined ? {} : { jwksUri }),
    ...(jwksFile === undefined ? {} : { jwksFile: abs(jwksFile) }),
    requiredScopes: required,
    subjectClaim: c.str(o, "subject_claim") ?? "sub",
    groupsClaim: c.str(o, "groups_claim") ?? "groups",
    algorithms: algs.length > 0 ? algs : DEFAULT_ALGORITHMS,
    clockSkewSeconds: c.int(o, "clock_skew_seconds", 30),
    jwksCooldownSeconds: c.int(o, "jwks_cooldown_seconds", 30),
    authorizationServers: servers.length > 0 ? servers : [issuer],
    scopesSupported: supported.length > 0 ? supported : required,
    ...(tokenEndpoint === undefined ? {} : { tokenEndpoint }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(clientSecretEnv === undefined ? {} : { clientSecretEnv }),
  };
  return s;
}

/**
 * `upstreams[i].token_exchange: { resource, audience, scopes }` of an HTTP upstream: needs
 * auth.oauth with a token_endpoint, and neither bearer_env nor an authorization header beside
 * it (one credential per upstream), nor sessions: shared (one connection cannot carry each
 * caller's token).
 */
export function tokenExchangeKeys(
  c: Checker,
  list: unknown,
  ups: UpstreamConfig[],
  oauth: OAuthSettings | undefined,
): void {
  if (!Array.isArray(list)) return;
  for (const [i, raw] of list.entries()) {
    const o = c.obj(raw);
    const t = o && c.obj(o.token_exchange);
    if (t === undefined) continue;
    const at: Path = ["upstreams", i, "token_exchange"];
    const u = ups.find((x) => x.name === c.str(o ?? {}, "name"));
    if (u === undefined || u.kind !== "http") {
      c.add(at, "token_exchange is for HTTP upstreams (url:).", "conflicting_keys");
      continue;
    }
    if (oauth === undefined)
      c.add(
        at,
        "token_exchange trades the caller's access token: it needs auth.oauth.",
        "missing_key",
      );
    else if (oauth.tokenEndpoint === undefined)
      c.add(
        at,
        "token_exchange needs auth.oauth.token_endpoint (where tokens are exchanged).",
        "missing_key",
      );
    const hasAuthHeader = Object.keys(u.headers).some((h) => h.toLowerCase() === "authorization");
    if (u.bearerEnv !== undefined || hasAuthHeader)
      c.add(
        at,
        "token_exchange gives the upstream its credentials: remove bearer_env and any authorization header.",
        "conflicting_keys",
      );
    if (u.sessions === "shared")
      c.add(
        at,
        "token_exchange gives each caller's session its own token: it cannot be used with sessions: shared.",
        "conflicting_keys",
      );
    const resource = c.str(t, "resource") ?? u.url;
    const audience = c.str(t, "audience");
    (u as { tokenExchange?: unknown }).tokenExchange = {
      resource,
      ...(audience === undefined ? {} : { audience }),
      scopes: c.strList(t, "scopes"),
    };
  }
}
