/** The `auth.oauth` settings as the gateway config validated them, and who a token names. */

/** Asymmetric JWS algorithms a token may be signed with (no `none`, no HS*: the keys are public). */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
export type Algorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** The default `auth.oauth.algorithms`. */
export const DEFAULT_ALGORITHMS: readonly Algorithm[] = ["RS256", "PS256", "ES256", "EdDSA"];

/** `auth.oauth` of warden.yaml (frozen; paths absolute). */
export interface OAuthSettings {
  /** The `iss` every token must carry (the authorization server's issuer identifier). */
  readonly issuer: string;
  /** The gateway's own resource URI: the `aud` a token must name (RFC 8707, RFC 9728 `resource`). */
  readonly audience: string;
  /** Where the issuer publishes its keys (https, or http on loopback), or ... */
  readonly jwksUri?: string;
  /** ... a JWKS file read at start (absolute). */
  readonly jwksFile?: string;
  /** Scopes every token must hold (403 insufficient_scope otherwise). */
  readonly requiredScopes: readonly string[];
  /** The claim naming the caller (default `sub`). */
  readonly subjectClaim: string;
  /** The claim listing the caller's groups (default `groups`). */
  readonly groupsClaim: string;
  readonly algorithms: readonly Algorithm[];
  /** Tolerated clock difference for exp/nbf/iat, seconds (default 30). */
  readonly clockSkewSeconds: number;
  /** An unknown `kid` refreshes the JWKS at most once per this many seconds (default 30). */
  readonly jwksCooldownSeconds: number;
  /** The authorization servers named in the protected resource metadata (default [issuer]). */
  readonly authorizationServers: readonly string[];
  /** Scopes named in the metadata's scopes_supported (default required_scopes). */
  readonly scopesSupported: readonly string[];
  /** RFC 8693 token exchange for upstreams: the authorization server's token endpoint. */
  readonly tokenEndpoint?: string;
  /** The gateway's client id at the token endpoint. */
  readonly clientId?: string;
  /** The environment variable holding the gateway's client secret. */
  readonly clientSecretEnv?: string;
}

/** Who a valid token names, as the policy and the audit see it. */
export interface Principal {
  /** The subject claim's value: the caller. */
  readonly caller: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  /** The token itself (for a token exchange at the authorization server; never sent upstream). */
  readonly token: string;
  /** Seconds since the epoch when the token expires. */
  readonly exp: number;
}
