/**
 * `/healthz` and `/readyz` on the HTTP front, for probes and load balancers (docs/gateway.md,
 * "Health and readiness"). They are not MCP traffic: never judged, never audited, never a
 * session. They need no token (a probe rarely has one) and skip the Host check (a probe calls
 * the pod's address), so what they say to anyone is only whether the gateway is live or ready;
 * the upstreams' names and states are added for a request that passes the front's own checks
 * (Host, Origin and, when `auth` is configured, a token: a static one or a valid access token),
 * with, under auth.oauth, what is known of the issuer's keys, and, under state.redis, the
 * connection's status and last error (without the password). Otherwise no error text: states
 * only. A gateway whose shared state (Redis) is not reachable is `degraded`: still 200, as it
 * serves everything but what needs shared state, which it refuses saying why (docs/scale-out.md).
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
 * checks, so it may hear the upstreams' names and states, and `more` (e.g. the OAuth keys' state).
 */
export function serveHealth(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  source: HealthSource,
  detailed: () => boolean | Promise<boolean>,
  more: () => Record<string, unknown> = () => ({}),
  degraded: () => boolean = () => false,
): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-length": "0" }).end();
    return;
  }
  if (path === HEALTH_PATH) {
    send(req, res, 200, { status: "ok" });
    return;
  }
  const answer = (full: boolean) => {
    if (res.destroyed) return;
    const r = source.readiness();
    const status = !r.ready ? "not_ready" : degraded() ? "degraded" : "ready";
    if (!full) return send(req, res, r.ready ? 200 : 503, { status });
    const upstreams = source
      .upstreams()
      .map((u) => ({ name: u.name, sessions: u.sessions, state: u.state }));
    send(req, res, r.ready ? 200 : 503, {
      status,
      ...(r.ready ? {} : { not_ready: r.notReady }),
      upstreams,
      ...more(),
    });
  };
  const full = detailed();
  if (typeof full === "boolean") answer(full);
  else full.then(answer, () => answer(false));
}
