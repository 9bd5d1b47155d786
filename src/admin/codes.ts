/**
 * Error codes of the admin HTTP API (docs/admin.md). The plugin registry's codes are the rules
 * layer's (src/rules/registry/codes.ts), re-exported here so the one list stays pinned. Retired
 * codes are never reused.
 */
export { REGISTRY_CODES } from "../rules/registry/codes.js";

export const ADMIN_CODES = {
  admin_unauthorized:
    "A request to the admin API without a token of the `auth` section, or with a wrong one (HTTP 401).",
  admin_forbidden:
    "A request whose Host or Origin is not the admin listener's (DNS rebinding, cross-site: HTTP 403).",
  admin_bad_request:
    "A request the admin API cannot read: malformed JSON or multipart, a missing or unknown field (HTTP 400).",
  admin_too_large:
    "A request past the admin API's limits: body bytes, multipart parts, fields or files (HTTP 413).",
  admin_route_not_found: "No admin API route has that method and path (HTTP 404).",
  admin_unavailable:
    "The admin API cannot answer this route in this process (a part not configured, e.g. rules; HTTP 501).",
  admin_streams_full:
    "The page's live decision stream (GET /v1/gateway/decisions/stream): this caller already follows 8 streams (HTTP 429), or 32 are open in all (HTTP 503, Retry-After); the message says which.",
  admin_listen_failed:
    "The admin listener cannot bind admin.listen (address in use, not permitted): the message says which.",
} as const;

export type AdminCode = keyof typeof ADMIN_CODES;
