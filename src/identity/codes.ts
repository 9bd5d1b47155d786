/**
 * Error codes owned by the identity layer (see docs/errors.md, section "identity").
 * Retired codes are never reused.
 */
export const IDENTITY_CODES = {
  token_invalid:
    "A bearer token was refused (401, error=invalid_token): bad signature, wrong issuer or audience, expired, an algorithm outside auth.oauth.algorithms, an unknown key; the message says which.",
  insufficient_scope:
    "A valid token lacks a scope of auth.oauth.required_scopes (403, error=insufficient_scope); the message names the missing scopes.",
  issuer_unavailable:
    "The issuer's JWKS could not be fetched or read, so no token can be checked (503, fail closed); the message names the URL and the cause.",
  token_exchange_failed:
    "The token exchange (RFC 8693) for an upstream failed at auth.oauth.token_endpoint; the message names the upstream and the answer.",
} as const;

export type IdentityCode = keyof typeof IDENTITY_CODES;
