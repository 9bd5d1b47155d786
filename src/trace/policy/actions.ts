/**
 * What a traced process does, as the tracer's agents report it, and how Warden's policy judges
 * it: the one place that says which policy sections decide each action. Agents and the
 * `warden run` CLI ask `judgeTraceAction(policy, action)` and get a core `Decision` (verdict
 * on the lattice block > review > warn > display > suppress > allow, the rule as `file:line`).
 *
 * | action                                          | judged by (the strictest answer wins)                    |
 * | ----------------------------------------------- | -------------------------------------------------------- |
 * | `{ kind: "exec", path, argv }`                  | `commands` (command.exec)                                 |
 * | `{ kind: "function", runtime, name, args? }`    | `nodejs` / `python` (nodejs.call / python.call)           |
 * | `{ kind: "http", url, method? }`                | `network` (http.request), `http` (http.url), `endpoints`  |
 * | `{ kind: "connect", host, port?, protocol? }`   | `network` (network.connect), `endpoints`                  |
 * | `{ kind: "file", path, op }`                    | `storage` (read: read, execute; write: write, edit, delete, create) |
 * | `{ kind: "env", key }`                          | `environment` (env.read)                                  |
 */
import type { Decision } from "../../core/decision.js";
import {
  type CheckOptions,
  type CompiledPolicy,
  canonicalizeUrl,
  type PolicyDecision,
  toCoreDecision,
} from "../../policy/index.js";
import { stricterDecision } from "../../policy/process/modes.js";

export const FILE_OPS = ["read", "write", "edit", "delete", "create", "execute"] as const;
export type FileOp = (typeof FILE_OPS)[number];

export type TraceAction =
  | { kind: "exec"; path: string; argv: readonly string[] }
  | { kind: "function"; runtime: "nodejs" | "python"; name: string; args?: readonly string[] }
  | { kind: "http"; url: string; method?: string }
  | { kind: "connect"; host: string; port?: number; protocol?: string }
  | { kind: "file"; path: string; op: FileOp }
  | { kind: "env"; key: string };

export type TraceActionKind = TraceAction["kind"];

const URL_SCHEMES = new Set(["http", "https", "ws", "wss"]);
const READS = new Set<string>(["read", "execute"]);

/** The policy decision on one traced action (the strictest of the sections that judge it). */
export function judgeTracePolicy(
  policy: CompiledPolicy,
  action: TraceAction,
  opts?: CheckOptions,
): PolicyDecision {
  switch (action.kind) {
    case "exec":
      return policy.check({ kind: "command.exec", path: action.path, argv: action.argv }, opts);
    case "function":
      return policy.check(
        action.args === undefined
          ? { kind: `${action.runtime}.call`, name: action.name }
          : { kind: `${action.runtime}.call`, name: action.name, args: action.args },
        opts,
      );
    case "http":
    case "connect":
      return judgeTraceNet(policy, action, undefined, opts)!;
    case "file":
      return policy.check(
        {
          kind: READS.has(action.op) ? "storage.read" : "storage.write",
          uri: action.path,
        },
        opts,
      );
    case "env":
      return policy.check({ kind: "env.read", key: action.key }, opts);
    default:
      return policy.check(action, opts);
  }
}

/** `judgeTracePolicy` as a core Decision (`by: "policy"`, the rule as `file:line`). */
export function judgeTraceAction(
  policy: CompiledPolicy,
  action: TraceAction,
  opts?: CheckOptions,
): Decision {
  return toCoreDecision(judgeTracePolicy(policy, action, opts));
}

/**
 * A request or a connect, judged by the sections of `given` only (all when undefined): an
 * agent judges what the policy file has (an absent `network` section is not a deny-all there),
 * and the `http` (URL patterns) and `endpoints` (host:port, protocols) sections refine what
 * `network` allows. The strictest answer wins; undefined when no given section judges it.
 */
export function judgeTraceNet(
  policy: CompiledPolicy,
  action: Extract<TraceAction, { kind: "http" | "connect" }>,
  given: ReadonlySet<string> | undefined,
  opts?: CheckOptions,
): PolicyDecision | undefined {
  const has = (s: string) => given === undefined || given.has(s);
  let d: PolicyDecision | undefined;
  const add = (x: PolicyDecision) => {
    d = d === undefined ? x : stricterDecision(d, x);
  };
  if (action.kind === "http") {
    const method = action.method ?? "GET";
    if (has("network")) add(policy.check({ kind: "http.request", url: action.url, method }, opts));
    if (has("http")) add(policy.check({ kind: "http.url", url: action.url, method }, opts));
    if (has("endpoints")) {
      const u = canonicalizeUrl(action.url);
      if (u.ok)
        add(
          policy.check(
            {
              kind: "endpoint.connect",
              host: u.value.host.host,
              port: u.value.port,
              protocol: u.value.scheme,
            },
            opts,
          ),
        );
    }
    return d;
  }
  const proto = action.protocol?.toLowerCase();
  if (has("network")) {
    const net: Record<string, unknown> = { kind: "network.connect", host: action.host };
    if (action.port !== undefined) net.port = action.port;
    if (proto !== undefined && URL_SCHEMES.has(proto)) net.scheme = proto;
    add(policy.check(net, opts));
  }
  if (has("endpoints")) {
    const ep: Record<string, unknown> = { kind: "endpoint.connect", host: action.host };
    if (action.port !== undefined) ep.port = action.port;
    if (proto !== undefined) ep.protocol = proto;
    add(policy.check(ep, opts));
  }
  return d;
}
