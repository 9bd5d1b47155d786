/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the gateway as a resource server, and
 * the `WWW-Authenticate` challenges (RFC 6750, RFC 9728 section 5.1) that point MCP clients
 * at it, so that they can find the authorization server as the MCP authorization spec requires.
 */
import type { OAuthSettings } from "./types.js";

export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/**
 * The metadata's URL for the resource `audience` (RFC 9728 section 3.1: the well-known path is
 * inserted between the host and the resource's path).
 */
export function metadataUrl(audience: string): string {
  const u = new URL(audience);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  return `${u.origin}${METADATA_PATH}${path}`;
}

/** The paths of this host the metadata is served at: with the resource's path, and bare. */
export function metadataPaths(audience: string): string[] {
  const at = new URL(metadataUrl(audience)).pathname;
  return at === METADATA_PATH ? [METADATA_PATH] : [at, METADATA_PATH];
}

/** The metadata document (RFC 9728 section 2). */
export function protectedResourceMetadata(s: OAuthSettings): Record<string, unknown> {
  return {
    resource: s.audience,
    authorization_servers: [...s.authorizationServers],
    scopes_supported: [...s.scopesSupported],
    bearer_methods_supported: ["header"],
    resource_signing_alg_values_supported: [...s.algorithms],
  };
}

const quoted = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/**
 * The `WWW-Authenticate` value of a 401 (no token: no error; a bad one: invalid_token) or a
 * 403 (insufficient_scope, with the scopes needed).
 */
export function challenge(
  s: OAuthSettings,
  error?: "invalid_token" | "insufficient_scope",
  description?: string,
): string {
  const parts = [`resource_metadata=${quoted(metadataUrl(s.audience))}`];
  if (error !== undefined) parts.push(`error=${quoted(error)}`);
  if (error === "insufficient_scope" && s.requiredScopes.length > 0)
    parts.push(`scope=${quoted(s.requiredScopes.join(" "))}`);
  // error_description is a quoted-string of printable ASCII (RFC 6750 section 3)
  if (description !== undefined)
    parts.push(`error_description=${quoted(description.replace(/[^\x20-\x7e]/g, "?"))}`);
  return `Bearer ${parts.join(", ")}`;
}
