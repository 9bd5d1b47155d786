/**
 * `state.sessions` of warden.yaml (docs/scale-out.md, "Sessions"): Streamable HTTP sessions
 * routed between gateway instances through the shared session directory. After the schema
 * pass: defaults, and what a schema cannot say: it needs `state.redis` and an HTTP listener,
 * and `instance_url` is an http(s) URL without credentials, query or fragment.
 */
import type { ConfigIssueCode } from "./codes.js";
import type { ListenConfig, SessionRoutingConfig } from "./config-types.js";

type Obj = Record<string, unknown>;
type Path = (string | number)[];

/** What of config.ts's Checker this file uses. */
interface Checker {
  obj(v: unknown): Obj | undefined;
  str(o: Obj, k: string): string | undefined;
  int(o: Obj, k: string, dflt: number): number;
  add(path: Path, message: string, code?: ConfigIssueCode): void;
}

/**
 * state.sessions.ttl_seconds, max_forwards and forward_timeout_ms by default. The owner of a
 * session sends the head of a POST's answer once it has the answer (or its first SSE event):
 * 120 s waits out the default upstreams[].request_timeout_ms (60 s), so the owner's own timeout
 * answers first.
 */
export const SESSION_ROUTING_DEFAULTS = {
  ttlSeconds: 60,
  maxForwards: 256,
  forwardTimeoutMs: 120_000,
} as const;

/** An instance URL's problem, or undefined when it is one other instances can be sent to. */
export function instanceUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `"${v}" is not a URL`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `"${v}" is not http(s)`;
  if (u.username !== "" || u.password !== "") return `"${v}" carries credentials`;
  if (u.search !== "" || u.hash !== "") return `"${v}" has a query or fragment`;
  return undefined;
}

export function sessionRoutingKeys(
  c: Checker,
  root: Obj,
  l: ListenConfig,
  abs: (p: string) => string,
): SessionRoutingConfig | undefined {
  const state = c.obj(root.state);
  const s = c.obj(state?.sessions);
  if (s === undefined) return undefined;
  const at = (k: string): Path => ["state", "sessions", k];
  if (state?.redis === undefined)
    c.add(
      ["state", "sessions"],
      "state.sessions routes sessions through the shared directory in Redis: it needs state.redis.",
      "missing_key",
    );
  if (l.kind !== "http")
    c.add(
      ["state", "sessions"],
      "state.sessions routes Streamable HTTP sessions: it needs listen: { http: ... }.",
      "conflicting_keys",
    );
  const instanceUrl = c.str(s, "instance_url");
  const bad = instanceUrl === undefined ? undefined : instanceUrlProblem(instanceUrl);
  if (bad !== undefined)
    c.add(
      at("instance_url"),
      `${bad}: give this instance's MCP endpoint as the other instances reach it, e.g. http://10.0.0.5:8931/mcp.`,
    );
  // bounded by the schema (100 ms to 1 h): 0 or absent is never "no timeout"
  const forwardTimeoutMs = c.int(
    s,
    "forward_timeout_ms",
    SESSION_ROUTING_DEFAULTS.forwardTimeoutMs,
  );
  const ca = c.str(c.obj(s.tls) ?? {}, "ca");
  return {
    secretEnv: c.str(s, "secret_env") ?? "",
    ...(instanceUrl === undefined ? {} : { instanceUrl }),
    ttlMs: c.int(s, "ttl_seconds", SESSION_ROUTING_DEFAULTS.ttlSeconds) * 1000,
    maxForwards: c.int(s, "max_forwards", SESSION_ROUTING_DEFAULTS.maxForwards),
    forwardTimeoutMs,
    ...(ca === undefined ? {} : { caFile: abs(ca) }),
  };
}
