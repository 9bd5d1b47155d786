/**
 * The gateway's hook points. Every message the gateway judges becomes a core `Call` run
 * through the core `Chain` of its phase (see docs/gateway.md, "Judges"):
 *
 * - `connection`: a downstream session initializes (`function` "initialize", args = params),
 *   then once per upstream it connects (`upstream` set, args = the upstream's ServerInfo).
 * - `tools_list`: a merged tools/list answer (`args` = { tools }); strategies may remove tools.
 * - `tool_invoke`: a tools/call (`function` = public tool name, `args` = arguments).
 * - `request`: other judged client requests (prompts/get, resources/read, resources/subscribe,
 *   completion/complete); `function` = method, `args` = params.
 * - `response`: answers going back (tools/call results, prompts/list, resources/list,
 *   resources/templates/list) and roots/list answers going up; `args` = the result, which
 *   strategies may rewrite in place.
 *
 * A `block` (or `review`) verdict turns into a denial error. The policy is the first strategy
 * of every chain; guards are appended after it, in the order given. A chain with a strategy to
 * await (`beforeCallAsync`) is awaited by the sessions; one without is judged synchronously.
 */
import type { Call } from "../core/call.js";
import { Chain } from "../core/chain.js";
import type { Decision } from "../core/decision.js";
import type { Strategy } from "../core/strategy.js";
import type {
  CheckOptions,
  CompiledPolicy,
  DeferredLimits,
  PolicyDecision,
} from "../policy/index.js";
import { allowHint, type PolicyHolder, toCoreDecision } from "../policy/index.js";
import type { UpstreamConfig } from "./config-types.js";
import { ON_THIS_HOST, type PolicyAction } from "./policy-adapter.js";
import { type SharedLimitCheck, type SharedWindows, sharedLimitStrategy } from "./shared-limits.js";

export const PHASES = ["connection", "tools_list", "tool_invoke", "request", "response"] as const;
export type GatewayPhase = (typeof PHASES)[number];

/** What `call.meta` holds for every gateway call. */
export interface GatewayCallMeta {
  phase: GatewayPhase;
  /** The audit's id of this call (docs/audit.md): its decision and outcome lines share it. */
  call_id: string;
  session: string;
  /** The clientInfo name@version the client sent in initialize (self-chosen: informative only). */
  client: string;
  /** Who asks, as the front authenticated it (Downstream.caller); rate limits count per caller. */
  caller: string;
  /**
   * caller_includes_client_name: who authenticated (the caller before the client's name was
   * appended), for `user:<name>` of the policy's `callers`. Absent: the caller.
   */
  user?: string;
  /** auth.oauth: the caller's groups and scopes, from its access token (policy `callers`). */
  groups?: readonly string[];
  scopes?: readonly string[];
  upstream: string | null;
  method: string;
  transport: "stdio" | "http";
  host?: string;
  /** The policy's decision for single-target calls (allowed ones too, for the audit). */
  policy?: PolicyDecision;
  /** state.redis: the policy allowed subject to a shared rate-limit window (shared-limits.ts). */
  sharedLimit?: SharedLimitCheck;
  /** Names removed from a list by the policy (or a guard that records them). */
  hidden?: string[];
  /**
   * The public tool name, prompt name or resource URI the call is about (`request`, and
   * `response` to a tools/call, prompts/get or resources/read: the request it answers).
   */
  target?: string;
  /** The same under the upstream's own name (prefixes removed), where there is one. */
  name?: string;
  /**
   * connection: the session-wide call (upstream null) is followed by one call per upstream
   * (upstream set, args = its ServerInfo); a refusal there keeps only that upstream out.
   */
  eachUpstream?: boolean;
  /**
   * tools/call: fetch an upstream's tools/list through this session's link to it (every page, to
   * a bound), for a guard that must see a tool no listing showed (rug_pull: session-forward.ts).
   */
  listTools?: ((upstream: string) => Promise<readonly Record<string, unknown>[]>) | undefined;
}

/** A judged gateway message, and the chain that judges it (`call.meta` typed). */
export type GatewayCall = Call<GatewayCallMeta>;
export type GatewayChain = Chain<GatewayCallMeta>;

/** A strategy in the gateway's chains: it reads `call.meta` as a GatewayCallMeta. */
export type GatewayStrategy = Strategy<GatewayCallMeta>;

export type Judges = Readonly<Record<GatewayPhase, Chain<GatewayCallMeta>>>;

/**
 * The upstreams whose paths name files on this host (`paths: local`): the policy judges their
 * paths as resolved through the file system. Swapped with the config.
 */
export interface LocalPaths {
  local: ReadonlySet<string>;
}

/** The names of the upstreams whose paths are this host's files (`paths: local`). */
export function localUpstreams(upstreams: readonly UpstreamConfig[]): ReadonlySet<string> {
  return new Set(upstreams.filter((u) => u.paths === "local").map((u) => u.name));
}

type Item = Record<string, unknown>;
const TASK_REQUEST = /^tasks\/(get|list|cancel|result)$/;

/** Who asks, on an action judged by mcp rules that may name `callers`. */
function withWho(action: PolicyAction, meta: GatewayCallMeta): PolicyAction {
  action.caller = meta.caller;
  if (meta.user !== undefined) action.user = meta.user;
  if (meta.groups !== undefined) action.groups = meta.groups;
  if (meta.scopes !== undefined) action.scopes = meta.scopes;
  return action;
}

function filterList(
  p: CompiledPolicy,
  meta: GatewayCallMeta,
  list: unknown,
  action: (item: Item) => PolicyAction,
  label: (item: Item) => string,
  opts?: CheckOptions,
): unknown {
  if (!Array.isArray(list)) return list;
  const kept: unknown[] = [];
  for (const item of list as Item[]) {
    if (p.check(action(item), opts).allowed) kept.push(item);
    else (meta.hidden ??= []).push(label(item));
  }
  return kept;
}

function requestAction(method: string, a: Item): PolicyAction | undefined {
  switch (method) {
    case "prompts/get":
      return { kind: "prompt.get", name: String(a.name), arguments: (a.arguments as Item) ?? {} };
    case "resources/read":
    case "resources/subscribe":
      return { kind: "resource.read", uri: String(a.uri) };
    case "completion/complete": {
      const ref = (a.ref ?? {}) as Item;
      const r: { type: string; name?: string; uri?: string } = { type: String(ref.type) };
      if (typeof ref.name === "string") r.name = ref.name;
      if (typeof ref.uri === "string") r.uri = ref.uri;
      return { kind: "completion.complete", ref: r };
    }
    default:
      // Known methods the policy has no kind for are judged by the gateway itself; any other
      // is a method the gateway does not know, allowed only when mcp.methods lists it.
      return { kind: "method.call", method };
  }
}

/**
 * The policy as a strategy: one object, behaviour chosen by `call.meta.phase`. It reads the
 * policy in force from the policy layer's `PolicyHolder` on every call (a reload swaps it).
 */
export function policyStrategy(
  holder: PolicyHolder,
  paths: LocalPaths,
  shared?: SharedWindows,
): GatewayStrategy {
  return {
    name: "policy",
    priority: Number.NEGATIVE_INFINITY, // first in every chain, whatever the others' priorities
    beforeCall(call: Call<GatewayCallMeta>): Decision | undefined {
      const meta = call.meta!;
      const p = holder.current;
      const opts =
        meta.upstream !== null && paths.local.has(meta.upstream) ? ON_THIS_HOST : undefined;
      const a = (call.args ?? {}) as Item;
      let action: PolicyAction | undefined;
      switch (meta.phase) {
        case "connection":
          if (meta.upstream !== null) {
            // One upstream about to be connected: judged on the transport it uses (and the
            // host of its URL), as `warden gateway --check` reports it.
            action = upstreamTransport(a);
            break;
          }
          action = { kind: "transport.connect", transport: meta.transport };
          if (meta.host !== undefined) action.host = meta.host;
          break;
        case "tool_invoke":
          action = { kind: "tool.call", name: call.function, arguments: a, caller: meta.caller };
          if (meta.groups !== undefined || meta.user !== undefined) withWho(action, meta);
          break;
        case "request":
          // tasks/*: the task's tool must still be one the client may see (a reload may have
          // removed it); tasks/list names no tool.
          if (TASK_REQUEST.test(call.function))
            action = meta.target ? { kind: "tool.list", name: meta.target } : undefined;
          else action = requestAction(call.function, a);
          if (action !== undefined && (action.kind === "tool.list" || action.kind === "prompt.get"))
            withWho(action, meta);
          break;
        case "tools_list":
          a.tools = filterList(
            p,
            meta,
            a.tools,
            (t) => withWho({ kind: "tool.list", name: String(t.name) }, meta),
            (t) => String(t.name),
          );
          return undefined;
        case "response":
          if (call.function === "prompts/list")
            a.prompts = filterList(
              p,
              meta,
              a.prompts,
              (t) => withWho({ kind: "prompt.list", name: String(t.name) }, meta),
              (t) => String(t.name),
            );
          else if (call.function === "resources/list")
            a.resources = filterList(
              p,
              meta,
              a.resources,
              (r) => ({ kind: "resource.list", uri: String(r.uri) }),
              (r) => String(r.uri),
            );
          else if (call.function === "resources/templates/list")
            a.resourceTemplates = filterList(
              p,
              meta,
              a.resourceTemplates,
              (r) => ({ kind: "resource.list", uri: String(r.uriTemplate) }),
              (r) => String(r.uriTemplate),
            );
          else if (call.function === "roots/list")
            a.roots = filterList(
              p,
              meta,
              a.roots,
              (r) => ({ kind: "storage.read", uri: String(r.uri) }),
              (r) => String(r.uri),
              opts,
            );
          return undefined;
      }
      if (action === undefined) return undefined;
      let v: PolicyDecision;
      if (shared !== undefined && (meta.phase === "tool_invoke" || meta.phase === "request")) {
        // state.redis: rate-limited rules are taken from the shared window (shared-limits.ts)
        const limits: DeferredLimits = { pending: undefined, exhausted: new Set() };
        const o: CheckOptions = opts === undefined ? { limits } : { ...opts, limits };
        v = p.check(action, o);
        if (v.allowed && limits.pending !== undefined)
          meta.sharedLimit = { policy: p, action, opts: o, limits };
      } else v = p.check(action, opts);
      meta.policy = v;
      // A default deny says what to add, key and value (policy/hints.ts).
      return v.allowed ? undefined : toCoreDecision(v, allowHint(p, action, v, opts));
    },
  };
}

/**
 * Build the five chains: the policy first, then the extra strategies of each phase. A chain with
 * a strategy that has to be awaited (`beforeCallAsync`) is asynchronous: the sessions await its
 * decision (session-judges.ts); a chain without one is judged synchronously, as before.
 */
export function buildJudges(
  holder: PolicyHolder,
  paths: LocalPaths,
  extra: Partial<Record<GatewayPhase, readonly GatewayStrategy[]>> = {},
  shared?: SharedWindows,
): Judges {
  const policy = policyStrategy(holder, paths, shared);
  // state.redis: right after the policy, the shared windows of the rules it deferred to
  const windows = shared === undefined ? undefined : sharedLimitStrategy(shared);
  const out = {} as Record<GatewayPhase, Chain<GatewayCallMeta>>;
  for (const phase of PHASES) {
    const first =
      windows !== undefined && (phase === "tool_invoke" || phase === "request")
        ? [policy, windows]
        : [policy];
    out[phase] = new Chain(`mcp.${phase}`, [...first, ...(extra[phase] ?? []).map(failClosed)]);
  }
  return Object.freeze(out);
}

/** How long the gateway waits for an asynchronous judge before it denies (fail closed). */
export const JUDGE_TIMEOUT_MS = 60_000;

/**
 * An asynchronous strategy whose judgement throws, rejects or does not come within
 * JUDGE_TIMEOUT_MS denies the message, naming itself and why (fail closed); its denial and audit
 * line say so. Synchronous strategies are left as they are (no cost on the fast path).
 */
function failClosed(s: GatewayStrategy): GatewayStrategy {
  const judge = s.beforeCallAsync;
  // both hooks: left for the chain to refuse, naming the strategy
  if (judge === undefined || s.beforeCall !== undefined) return s;
  return {
    name: s.name,
    ...(s.priority === undefined ? {} : { priority: s.priority }),
    ...(s.afterCall === undefined ? {} : { afterCall: s.afterCall.bind(s) }),
    ...(s.shouldBypass === undefined ? {} : { shouldBypass: s.shouldBypass.bind(s) }),
    beforeCallAsync: async (call) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<Decision>((resolve) => {
        timer = setTimeout(
          () => resolve(failed(s.name, `no decision within ${JUDGE_TIMEOUT_MS} ms`)),
          JUDGE_TIMEOUT_MS,
        );
        timer.unref();
      });
      try {
        return await Promise.race([judge.call(s, call), late]);
      } catch (e) {
        return failed(s.name, e instanceof Error ? e.message : String(e));
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The decision of a judge that failed: a block by it (`by`), saying why. */
export function failed(by: string, why: string): Decision {
  return {
    verdict: "block",
    by,
    reason: `strategy "${by}" failed (${why}); the message is refused (a judge that fails denies)`,
  };
}

/** The policy action for connecting one upstream (`args` as session-connect.ts builds them). */
function upstreamTransport(a: Item): PolicyAction {
  if (a.transport !== "http") return { kind: "transport.connect", transport: "stdio" };
  const action: PolicyAction = { kind: "transport.connect", transport: "http" };
  try {
    action.host = new URL(String(a.url)).hostname;
  } catch {}
  return action;
}
