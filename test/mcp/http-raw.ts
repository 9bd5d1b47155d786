/**
 * What the HTTP front's tests share: a loopback listen config for an HttpFront of their own, and
 * a raw JSON-RPC POST (the body sent exactly as given, so tests can send what no SDK would).
 */
import type { HttpListenConfig } from "../../src/mcp/config-types.js";

/** listen.http on 127.0.0.1, a free port, /mcp, no extra hosts or origins, no token. */
export const LOOPBACK_LISTEN: HttpListenConfig = {
  kind: "http",
  host: "127.0.0.1",
  port: 0,
  path: "/mcp",
  allowedHosts: [],
  allowedOrigins: [],
  bearerEnv: undefined,
  sessionIdleMs: 60_000,
};

/** A raw initialize request (id 1, protocol 2025-06-18) as the first POST of a session. */
export const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  },
});

/**
 * POST `body` as is to `url` with `content-type: application/json` and `accept:
 * application/json` (a complete answer comes back as JSON); `headers` add to or replace them.
 */
export function postRaw(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body,
  });
}
