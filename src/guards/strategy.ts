/**
 * The guards in a host's chains: the gateway (or any host) runs every judged message through a
 * core Chain per phase; this gives each phase one strategy that hands the message to that
 * phase's guard chain (set.ts: each guard a strategy, by priority) once per upstream it
 * concerns. A merged tools list is split so each server's tools are judged under the server's
 * own names, and each upstream's run gets its own audit note. It reads the host's Call shape
 * structurally (no import of the gateway): `call.meta` is a `GuardHostMeta`; `call.function`
 * the public tool name or the method; `call.args` the arguments, the `{ tools }` answer or the
 * result, rewritten in place on `modify`.
 */
import type { Call } from "../core/call.js";
import { type Decision, decide } from "../core/decision.js";
import type { Strategy } from "../core/strategy.js";
import type { GuardRun, GuardSet, GuardTrail } from "./set.js";
import { ToolCatalog, ToolVerdicts } from "./tool-verdicts.js";
import type { GuardContext, GuardPhase, GuardTool, ServerInfo } from "./types.js";

/** The fields of a host call's `meta` the guards read (the gateway's GatewayCallMeta has them). */
export interface GuardHostMeta {
  phase: GuardPhase;
  call_id?: string;
  session?: string;
  client?: string;
  upstream?: string | null;
  method?: string;
  hidden?: string[];
  /**
   * response: the public name (tool, prompt, URI) of the request answered; request: the one the
   * request names (for tasks/*, the tool of the task's tools/call).
   */
  target?: string;
  /** The same under the upstream's own name. */
  name?: string;
  /** connection: the host judges each upstream on its own after this session-wide call. */
  eachUpstream?: boolean;
  /** tool_invoke: fetch an upstream's tools/list (GuardContext.listTools). */
  listTools?: ((upstream: string) => Promise<readonly GuardTool[]>) | undefined;
}

/** A guard outcome worth its own audit line (modify, warn, a failure, a deny). */
export interface GuardAuditNote {
  kind: "guard";
  /** The host's id of the judged call (the gateway's audit call_id), when it gives one. */
  call_id?: string;
  session?: string;
  client?: string;
  upstream: string | null;
  method: string;
  target?: string;
  decision: "allow" | "deny";
  reason: string;
  guards: readonly GuardTrail[];
}

export interface GuardHookOptions {
  /** Every upstream the host connects (judged on `connection`; names go to knownServers). */
  upstreams: readonly ServerInfo[];
  /** Public tool name → upstream and the upstream's own name (prefixes removed). */
  route(publicName: string): { upstream: string; name: string } | undefined;
  /** The upstream's own tool name → the public one. */
  publicName(upstream: string, name: string): string;
  /** Called for each outcome worth an audit line. */
  note?(n: GuardAuditNote): void;
  /**
   * The tools each upstream listed, kept across guard reloads: pass the previous
   * configuration's catalog so new guards can judge the tools open sessions already hold.
   */
  catalog?: ToolCatalog;
}

type Obj = Record<string, unknown>;
type Meta = GuardHostMeta;

function toCore(r: GuardRun<GuardPhase>, what: string): Decision | undefined {
  const d = r.decision;
  if (d.kind === "deny") {
    const by = r.by ?? "guards";
    return decide("block", d.message, by, {
      rule: `security_guards.${by}`,
      details: { code: d.code, guard: by, ...(d.details ?? {}), guards: r.trail },
    });
  }
  if (r.warnings.length > 0)
    return decide("warn", `${what}: ${r.warnings.join("; ")}`, "guards", {
      details: { guards: r.trail },
    });
  return undefined;
}

/** Build the strategies; phases no guard runs on get none (the chain pays nothing). */
export function guardStrategies(
  guards: GuardSet,
  opts: GuardHookOptions,
): Partial<Record<GuardPhase, Strategy<GuardHostMeta>[]>> {
  const known = Object.freeze(opts.upstreams.map((u) => u.name));
  const ctxOf = (m: Meta, server: string): GuardContext => {
    const c: GuardContext = { serverName: server, knownServers: known, timestamp: Date.now() };
    if (m.session !== undefined) c.sessionId = m.session;
    if (m.client !== undefined) c.clientName = m.client;
    return c;
  };
  const note = (m: Meta, r: GuardRun<GuardPhase>, server: string | null, target?: string) => {
    if (opts.note === undefined) return;
    if (r.decision.kind === "allow" && !r.trail.some((t) => t.outcome === "failed")) return;
    const n: GuardAuditNote = {
      kind: "guard",
      upstream: server,
      method: m.method ?? m.phase,
      decision: r.decision.kind === "deny" ? "deny" : "allow",
      reason:
        r.decision.kind === "deny"
          ? `${r.by}: ${r.decision.message}`
          : r.warnings.join("; ") || r.decision.kind,
      guards: r.trail,
    };
    if (m.call_id !== undefined) n.call_id = m.call_id;
    if (m.session !== undefined) n.session = m.session;
    if (m.client !== undefined) n.client = m.client;
    if (target !== undefined) n.target = target;
    opts.note(n);
  };
  const out: Partial<Record<GuardPhase, Strategy<GuardHostMeta>[]>> = {};
  const verdicts = new ToolVerdicts(guards, opts.catalog ?? new ToolCatalog());
  const listGuards = guards.has("tools_list");
  const connGuards = guards.has("connection");
  // The connection guards' verdict on each (client, upstream), under these guards. A session
  // is judged on connection when it starts; one that started under older guards (a reload
  // changed them) is held to the new verdict on its next message to that upstream: its calls
  // are refused and the upstream's tools leave its listings. Failures are not remembered.
  const admitted = new Map<string, Decision | null>();
  const refusedUpstream = (m: Meta, server: string): Decision | undefined => {
    if (!connGuards) return undefined;
    const key = `${m.client ?? ""}\u0000${server}`;
    let d = admitted.get(key);
    if (d === undefined) {
      const u = opts.upstreams.find((x) => x.name === server) ?? {
        name: server,
        transport: "stdio",
      };
      const r = guards.run("connection", u, ctxOf(m, server));
      const c = toCore(r, `upstream "${server}"`);
      d = c?.verdict === "block" ? c : null;
      if (d !== null) note({ ...m, method: "initialize" }, r, server);
      if (!r.trail.some((t) => t.outcome === "failed")) {
        // Client names are the clients' to choose: keep the map bounded.
        if (admitted.size >= 4096) admitted.clear();
        admitted.set(key, d);
      }
    }
    return d ?? undefined;
  };
  const add = (
    phase: GuardPhase,
    beforeCall: (call: Call<GuardHostMeta>, m: Meta) => Decision | undefined,
    prepare?: (call: Call<GuardHostMeta>, m: Meta) => Promise<unknown> | undefined,
  ) => {
    // tools_list always records the catalog (new guards after a reload judge what sessions
    // hold); tool_invoke also holds calls to the tools_list guards' verdicts; and traffic to an
    // upstream is held to the connection guards' verdict (see refusedUpstream).
    const also =
      phase === "tools_list" ||
      (phase === "tool_invoke" && (listGuards || connGuards)) ||
      (phase === "request" && connGuards);
    if (!guards.has(phase) && !also) return;
    // A guard that fetches shared state first (Guard.prepare, rug_pull with state.redis) makes
    // the phase's strategy asynchronous: the host awaits the fetch, then the guards judge.
    out[phase] = [
      prepare !== undefined && guards.prepares(phase)
        ? {
            name: "guards",
            beforeCallAsync: async (call) => {
              const p = prepare(call, call.meta!);
              if (p !== undefined) await p;
              return beforeCall(call, call.meta!);
            },
          }
        : { name: "guards", beforeCall: (call) => beforeCall(call, call.meta!) },
    ];
  };

  /** A merged tools list split by upstream, each tool under the upstream's own name. */
  const split = (m: Meta, all: readonly GuardTool[]) => {
    const groups = new Map<string, { idx: number[]; tools: GuardTool[] }>();
    for (let i = 0; i < all.length; i++) {
      const t = all[i]!;
      const r = opts.route(String(t.name)) ?? {
        upstream: m.upstream ?? "unknown",
        name: String(t.name),
      };
      let g = groups.get(r.upstream);
      if (g === undefined) groups.set(r.upstream, (g = { idx: [], tools: [] }));
      g.idx.push(i);
      g.tools.push({ ...t, name: r.name });
    }
    return groups;
  };

  // connection: judged once per upstream (meta.upstream names it; args may carry its ServerInfo),
  // so a refusal keeps only that upstream out; the session-wide call before those (upstream null,
  // eachUpstream) judges nothing here. A host that judges the session only once (no eachUpstream)
  // gets every known upstream judged, and any refusal refuses the session.
  add("connection", (call, m) => {
    if (m.upstream == null && m.eachUpstream === true) return undefined;
    let list = opts.upstreams;
    if (m.upstream != null) {
      const a = call.args as ServerInfo | undefined;
      const u =
        a?.name === m.upstream && typeof a.transport === "string"
          ? a
          : opts.upstreams.find((x) => x.name === m.upstream);
      list = [u ?? { name: m.upstream, transport: "stdio" }];
    }
    let warn: Decision | undefined;
    for (const u of list) {
      const r = guards.run("connection", u, ctxOf(m, u.name));
      note(m, r, u.name);
      const d = toCore(r, `upstream "${u.name}"`);
      if (d?.verdict === "block") return d;
      warn ??= d;
    }
    return warn;
  });

  // tools_list: judge each upstream's part of the (merged) list under its own names.
  add(
    "tools_list",
    (call, m) => {
      const a = call.args as Obj;
      if (!Array.isArray(a.tools)) return undefined;
      const all = a.tools as GuardTool[];
      const groups = split(m, all);
      let warn: Decision | undefined;
      const replaced = new Map<string, GuardTool[]>();
      for (const [server, g] of groups) {
        verdicts.catalog.record(server, g.tools);
        if (refusedUpstream(m, server) !== undefined) replaced.set(server, []);
      }
      if (listGuards) {
        const peerTools: Record<string, string[]> = {};
        for (const [server, g] of groups) peerTools[server] = g.tools.map((t) => t.name);
        for (const [server, g] of groups) {
          if (replaced.has(server)) continue;
          const ctx = ctxOf(m, server);
          ctx.peerTools = peerTools;
          const r = guards.run("tools_list", g.tools, ctx);
          verdicts.record(server, g.tools, r);
          note(m, r, server);
          const d = toCore(r, `tools of "${server}"`);
          if (d?.verdict === "block") return d;
          warn ??= d;
          if (r.decision.kind === "modify") replaced.set(server, r.payload as GuardTool[]);
        }
      }
      if (replaced.size > 0) {
        const next: unknown[] = [];
        const seen = new Set<string>();
        for (const [server, g] of groups) {
          const tools = replaced.get(server);
          if (tools === undefined) {
            for (const i of g.idx) next.push(all[i]);
            continue;
          }
          for (const t of tools) {
            const pub = opts.publicName(server, t.name);
            seen.add(pub);
            next.push({ ...t, name: pub });
          }
          for (const i of g.idx) {
            const name = String(all[i]!.name);
            if (!seen.has(name)) (m.hidden ??= []).push(name);
          }
        }
        a.tools = next;
      }
      return warn;
    },
    (call, m) => {
      const a = call.args as Obj;
      if (!Array.isArray(a.tools)) return undefined;
      let waits: Promise<void>[] | undefined;
      for (const [server, g] of split(m, a.tools as GuardTool[])) {
        const p = guards.prepare("tools_list", g.tools, ctxOf(m, server));
        if (p !== undefined) (waits ??= []).push(p);
      }
      return waits === undefined ? undefined : Promise.all(waits);
    },
  );

  // tool_invoke: a tools/call, under the upstream's own tool name.
  add(
    "tool_invoke",
    (call, m) => {
      const r0 = opts.route(call.function);
      const server = r0?.upstream ?? m.upstream ?? "unknown";
      const name = r0?.name ?? call.function;
      const refused = refusedUpstream(m, server);
      if (refused !== undefined) return refused;
      if (listGuards) {
        const h = verdicts.hidden(
          server,
          name,
          () => ctxOf(m, server),
          (r) => note({ ...m, method: "tools/list" }, r, server),
        );
        if (h !== null) {
          const reason = `tool "${call.function}" is hidden by guard "${h.by}": ${h.reason}`;
          opts.note?.({
            kind: "guard",
            upstream: server,
            method: m.method ?? "tools/call",
            target: call.function,
            decision: "deny",
            reason: `${h.by}: ${reason}`,
            guards: [],
            ...(m.session !== undefined ? { session: m.session } : {}),
            ...(m.client !== undefined ? { client: m.client } : {}),
          });
          return decide("block", reason, h.by, {
            rule: `security_guards.${h.by}`,
            details: { code: "tool_hidden", guard: h.by },
          });
        }
      }
      if (!guards.has("tool_invoke")) return undefined;
      const r = guards.run(
        "tool_invoke",
        { method: "tools/call", name, arguments: call.args },
        ctxOf(m, server),
      );
      note(m, r, server, call.function);
      if (r.decision.kind === "modify") call.args = r.payload.arguments;
      return toCore(r, `tools/call "${call.function}"`);
    },
    (call, m) => {
      const r0 = opts.route(call.function);
      const server = r0?.upstream ?? m.upstream ?? "unknown";
      const name = r0?.name ?? call.function;
      const ctx = ctxOf(m, server);
      const list = m.listTools;
      // a listing a guard fetches itself (rug_pull, for a tool no listing showed) goes to the
      // catalog too: the tools_list guards judge its tools before the call (ToolVerdicts.hidden)
      if (list !== undefined)
        ctx.listTools = () =>
          list(server).then((tools) => {
            verdicts.catalog.record(server, tools);
            return tools;
          });
      return guards.prepare(
        "tool_invoke",
        { method: "tools/call", name, arguments: call.args },
        ctx,
      );
    },
  );

  // request: prompts/get, resources/read, completion/complete... (args = params).
  add("request", (call, m) => {
    const p = (call.args ?? {}) as Obj;
    const server = m.upstream ?? "unknown";
    const refused = refusedUpstream(m, server);
    if (refused !== undefined) return refused;
    if (!guards.has("request")) return undefined;
    // tasks/* name no tool in their params: the host names the tool of the task's tools/call
    // (meta.name, the upstream's own name, as tool_invoke sees it; meta.target, the public one)
    const name = String(p.name ?? p.uri ?? m.name ?? "");
    const method = m.method ?? call.function;
    const r = guards.run("request", { method, name, arguments: p }, ctxOf(m, server));
    note(m, r, server, m.target ?? (name || undefined));
    if (r.decision.kind === "modify") call.args = r.payload.arguments;
    return toCore(r, `${method} "${name}"`);
  });

  // response: results on their way back (args = result, rewritten in place on modify).
  add("response", (call, m) => {
    const method = m.method ?? call.function;
    if (method === "roots/list") return undefined; // a client's answer going up, not a server's
    const server = m.upstream ?? "unknown";
    const res = call.args as Obj;
    const name = m.name ?? (m.target !== undefined ? (opts.route(m.target)?.name ?? m.target) : "");
    const r = guards.run(
      "response",
      { method, name, result: res, isError: res?.isError === true },
      ctxOf(m, server),
    );
    note(m, r, server, m.target);
    if (r.decision.kind === "modify") call.args = r.payload.result;
    return toCore(
      r,
      m.target ? `the answer to ${method} "${m.target}"` : `the answer to ${method}`,
    );
  });
  return out;
}
