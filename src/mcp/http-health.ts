/**
 * `/healthz` and `/readyz` on the HTTP front, for probes and load balancers (docs/gateway.md,
 * "Health and readiness"). They are not MCP traffic: never judged, never audited, never a
 * session. They need no token (a probe rarely has one) and skip the Host check (a probe calls
 * the pod's address), so what they say to anyone is only whether the gateway is live or ready;
 * the upstreams' names and states are added for a request that passes the front's own checks
 * (Host, Origin and, when `auth` is configured, a token). No error text, ever: states only.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { UpstreamHealth } from "./upstream-health.js";
import type { Readiness } from "./views.js";

export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";

/** What the endpoints read from the gateway. */
export interface HealthSource {
  readiness(): Readiness;
  upstreams(): readonly UpstreamHealth[];
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
  });
  res.end(req.method === "HEAD" ? undefined : text);
}

/**
 * Answer a request for HEALTH_PATH or READY_PATH. `detailed`: the request passed the front's
 * checks, so it may hear the upstreams' names and states.
 */
export function serveHealth(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  source: HealthSource,
  detailed: () => boolean,
): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-length": "0" }).end();
    return;
  }
  if (path === HEALTH_PATH) {
    send(req, res, 200, { status: "ok" });
    return;
  }
  const r = source.readiness();
  const status = r.ready ? "ready" : "not_ready";
  if (!detailed()) {
    send(req, res, r.ready ? 200 : 503, { status });
    return;
  }
  const upstreams = source
    .upstreams()
    .map((u) => ({ name: u.name, sessions: u.sessions, state: u.state }));
  send(
    req,
    res,
    r.ready ? 200 : 503,
    r.ready ? { status, upstreams } : { status, not_ready: r.notReady, upstreams },
  );
}
