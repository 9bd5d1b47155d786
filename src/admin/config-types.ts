/** The admin listener's settings (warden.yaml `admin:`, read by the cli; docs/admin.md). */

export interface AdminListen {
  /** Default 127.0.0.1. Beyond loopback: TLS and tokens, or allowInsecure. */
  readonly host: string;
  /** Default 8932; 0: any free port. */
  readonly port: number;
  /** HTTPS: PEM files (absolute paths). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Host header values accepted besides loopback names and `host` (DNS rebinding). */
  readonly allowedHosts?: readonly string[];
  /** admin.listen.allow_insecure: beyond loopback without TLS or tokens (a proxy provides them). */
  readonly allowInsecure?: boolean;
}

/** A token of the `auth` section with its value (read from its environment variable). */
export interface AdminToken {
  readonly name: string;
  readonly secret: string;
}

export const ADMIN_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8932,
  /** JSON bodies (POST /v1/check, /test, ...). */
  bodyBytes: 1024 * 1024,
  /** To send the whole request (Node's requestTimeout). */
  requestTimeoutMs: 30_000,
  /** To send the request head. */
  headersTimeoutMs: 10_000,
  keepAliveMs: 65_000,
  /** TCP connections held at once, in all, and from one remote address (src/core/connection-cap.ts). */
  connections: 256,
  connectionsPerAddress: 64,
  /** Multipart: fields besides the file (name, description, limits, enabled, and a few spare). */
  multipartFields: 8,
  /** Multipart: a field's value (the description). */
  multipartFieldBytes: 16 * 1024,
  /** Multipart: parts in all. */
  multipartParts: 10,
});

/** Loopback addresses: a listener there is reachable from this host only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
