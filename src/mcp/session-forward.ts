/**
 * Client requests forwarded to one upstream: the judged ones (tools/call, prompts/get,
 * resources/read and subscribe, completion/complete; methods MCP does not define, when the
 * policy lists them) go route → judge → decision line → Calls → answer judged → client →
 * outcome line; resources/unsubscribe and logging/setLevel pass through unjudged.
 */
import { type Decision, isAllowed } from "../core/decision.js";
import { lateHostCalls, takeHostCalls } from "./host-call-lines.js";
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  METHOD_NOT_FOUND,
  type Request,
} from "./jsonrpc.js";
import type { GatewayCall, GatewayPhase } from "./judges.js";
import { asIs, judgeAnswer } from "./session-answers.js";
import type { How } from "./session-audit.js";
import { type Answer, CANCELLED, type SessionParts } from "./session-core.js";
import { unknownMethod } from "./session-refusals.js";
import type { TaskRoutes } from "./session-tasks.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;
type Ended = (a: Answer | typeof CANCELLED) => void;
/** Where a routed request goes, and when it arrived. */
type Target = {
  link: UpstreamLink;
  publicName: string;
  /** The upstream's own name or URI. */
  name: string;
  key: "name" | "uri";
  kind: string;
  t0: number;
};

/** The gateway's own error for a request whose answer it could not make. */
const gatewayError = (req: Request, e: unknown): Answer =>
  errorResponse(req.id, INTERNAL_ERROR, `Warden gateway error: ${(e as Error).message}`);

export class Forwarding {
  constructor(
    readonly s: SessionParts,
    readonly tasks: TaskRoutes,
  ) {
    s.judges.listTools = (u) => listTools(s, u);
  }

  /**
   * tools/call, prompts/get, resources/read|subscribe: route, judge, forward, judge the answer.
   * Returns nothing when judged at once (the fast path), the judgement's promise otherwise.
   */
  routed(
    req: Request,
    p: Obj,
    phase: GatewayPhase,
    publicName: string,
    r: { upstream: string; name: string } | undefined,
    key: "name" | "uri",
    kind: string,
  ): Promise<void> | undefined {
    const s = this.s;
    const t0 = performance.now();
    const link = r && s.links.get(r.upstream);
    if (r === undefined || link === undefined) {
      s.audit.refuse(
        errorResponse(
          req.id,
          INVALID_PARAMS,
          `Unknown ${kind} "${publicName}": no upstream serves it. List them again (${kind === "resource" ? "resources/list" : `${kind}s/list`}); merged names look like <upstream>__<name>, URIs like <upstream>+<uri>.`,
          { warden: "unknown_target" },
        ),
        req.method,
        publicName,
      );
      return;
    }
    const args = key === "name" && kind === "tool" ? ((p.arguments as Obj) ?? {}) : p;
    const j = s.judges.judge(
      phase,
      kind === "tool" ? publicName : req.method,
      r.upstream,
      args,
      req.method,
    );
    if (phase === "request") {
      j.call.meta!.target = publicName;
      j.call.meta!.name = r.name;
    }
    const d = s.judges.decide(j);
    const to: Target = { link, publicName, name: r.name, key, kind, t0 };
    if (d instanceof Promise) return d.then((d) => this.#judged(req, p, j.call, d, to));
    this.#judged(req, p, j.call, d, to);
  }

  /** A routed request judged (`d`): denied, or forwarded and its answer judged on its way back. */
  #judged(req: Request, p: Obj, call: GatewayCall, d: Decision, to: Target): void {
    const s = this.s;
    const { link, publicName, name, key, kind, t0 } = to;
    if (!isAllowed(d)) {
      s.audit.deny(req, call, d, `${req.method} "${publicName}"`, t0);
      return;
    }
    if (s.who.closed) return; // the session ended while the call was judged
    let fwd: Obj = p;
    if (kind === "tool") fwd = { ...p, name, arguments: call.args };
    else if (call.args !== p) fwd = { ...(call.args as Obj), [key]: name };
    else if (name !== publicName) fwd = { ...p, [key]: name };
    const trace = s.audit.forwarded(call, req.method, publicName, t0, d);
    const gid = s.calls.callThen(link, req.method, fwd, req.id, trace, (got) => {
      s.calls.doneProgress(p);
      if (got === CANCELLED) return s.audit.outcome(call, req.method, publicName, t0, got);
      const a = got.message;
      if ("result" in a) takeHostCalls(s, call, link, publicName, a.result);
      // A task-augmented call (`task`, or `_meta.task` of early drafts) answers with its task.
      if (kind === "tool" && "result" in a && a.result.task !== undefined)
        this.tasks.created(link, publicName, name, a.result, call);
      let out: Answer | Promise<Answer>;
      let json: string | undefined;
      const how: How = {};
      try {
        if (!("result" in a)) out = a;
        else {
          json = got.raw === undefined ? undefined : asIs(s, link, a, got.raw, req.id);
          out = json === undefined ? judgeAnswer(s, req, link, a.result, publicName, name, how) : a;
        }
      } catch (e) {
        how.failed = true;
        out = gatewayError(req, e);
      }
      if (!(out instanceof Promise))
        return this.#answered(req, call, publicName, t0, out, how, json);
      out.then(
        (o) => this.#answered(req, call, publicName, t0, o, how),
        (e) => {
          how.failed = true;
          this.#answered(req, call, publicName, t0, gatewayError(req, e), how);
        },
      );
    });
    s.calls.lateTo(gid, lateHostCalls(s, call, link, publicName));
  }

  /**
   * The answer first: the audit record and metrics (redaction, JSON, histograms) are off the
   * client's critical path; the audit line is written in the same event-loop turn.
   */
  #answered(
    req: Request,
    call: GatewayCall,
    publicName: string,
    t0: number,
    out: Answer,
    how: How,
    json?: string,
  ): void {
    this.s.down.send({ ...out, id: req.id }, req.id, json);
    this.s.audit.outcome(call, req.method, publicName, t0, out, how);
  }

  async complete(req: Request, p: Obj): Promise<void> {
    const s = this.s;
    const ref = (p.ref ?? {}) as Obj;
    const isPrompt = ref.type === "ref/prompt";
    const pub = String(isPrompt ? ref.name : ref.uri);
    const r = isPrompt ? s.links.naming.route(pub) : s.links.naming.routeUri(pub);
    const t0 = performance.now();
    const link = r && s.links.get(r.upstream);
    if (r === undefined || link === undefined)
      return s.audit.refuse(
        errorResponse(
          req.id,
          INVALID_PARAMS,
          `Unknown completion reference "${pub}": no upstream serves it.`,
          { warden: "unknown_target" },
        ),
        req.method,
        pub,
      );
    const j = s.judges.judge("request", req.method, r.upstream, p, req.method);
    const call = j.call;
    let d = s.judges.decide(j);
    if (d instanceof Promise) d = await d;
    if (!isAllowed(d)) return s.audit.deny(req, call, d, `completion/complete for "${pub}"`, t0);
    const fwd = { ...(call.args as Obj), ref: { ...ref, [isPrompt ? "name" : "uri"]: r.name } };
    s.audit.forwarded(call, req.method, pub, t0);
    const a = await s.calls.call(link, req.method, fwd, req.id);
    s.audit.outcome(call, req.method, pub, t0, a);
    if (a === CANCELLED) return;
    s.down.send({ ...a, id: req.id }, req.id);
  }

  /**
   * A method that is not one of MCP's client requests: refused with -32601 unless the policy
   * lists it (`mcp.methods.allow`), so that no request reaches an upstream unjudged.
   */
  unknown(req: Request, p: Obj): Promise<void> | undefined {
    const t0 = performance.now();
    const j = this.s.judges.judge("request", req.method, null, p, req.method);
    const d = this.s.judges.decide(j);
    if (d instanceof Promise) return d.then((d) => this.#unknownJudged(req, p, j.call, d, t0));
    return this.#unknownJudged(req, p, j.call, d, t0);
  }

  #unknownJudged(
    req: Request,
    p: Obj,
    call: GatewayCall,
    d: Decision,
    t0: number,
  ): Promise<void> | undefined {
    const s = this.s;
    if (isAllowed(d)) {
      // A decision line now and an outcome line when the answer comes, as for judged calls.
      s.audit.forwarded(call, req.method, undefined, t0);
      return this.#passThrough(req, p, (a) => s.audit.outcome(call, req.method, undefined, t0, a));
    }
    if (d.by !== "policy") {
      s.audit.deny(req, call, d, req.method, t0);
      return;
    }
    s.audit.write({
      phase: "decision",
      upstream: null,
      method: req.method,
      decision: "deny",
      rule: d.rule,
      reason: d.reason,
      code: "method_unknown",
      duration_ms: performance.now() - t0,
      ...s.audit.args(p),
    });
    const e = unknownMethod(req, d, s.ctx.policyFile());
    s.down.send(e, req.id);
    return;
  }

  /** resources/unsubscribe: to the upstream the URI names, unjudged (subscribe was judged). */
  unsubscribe(req: Request, p: Obj): Promise<void> {
    const r = this.s.links.naming.routeUri(String(p.uri));
    this.s.audit.passed(req.method, "client", r?.upstream ?? null);
    return this.#forward(req, r && this.s.links.get(r.upstream), r ? { ...p, uri: r.name } : p);
  }

  /** logging/setLevel: to every upstream that logs; answered once all have answered. */
  async setLevel(req: Request, p: Obj): Promise<void> {
    const { links, calls, down } = this.s;
    this.s.audit.passed(req.method, "client", null);
    const to = [...links.values()].filter(
      (l) => l.state === "up" && (links.size === 1 || links.caps.get(l.name)?.logging),
    );
    const answers = await Promise.all(to.map((l) => calls.call(l, req.method, p, req.id)));
    if (answers.includes(CANCELLED)) return;
    const errs = answers.filter((a): a is Answer => a !== CANCELLED && "error" in a);
    if (errs.length > 0 && errs.length === answers.length)
      return down.send({ ...errs[0]!, id: req.id }, req.id);
    down.send({ jsonrpc: "2.0", id: req.id, result: {} }, req.id);
  }

  /**
   * A method the policy allows but the gateway does not know: to the upstream its `params.name` or
   * `params.uri` names (a prefixed name or URI; the prefix is removed), else to the first
   * upstream that is up (see docs/gateway.md, "Sessions and routing").
   */
  #passThrough(req: Request, p: Obj, ended: Ended): Promise<void> {
    const { naming } = this.s.links;
    const key = typeof p.name === "string" ? "name" : typeof p.uri === "string" ? "uri" : undefined;
    if (key !== undefined) {
      const r = key === "name" ? naming.route(p.name as string) : naming.routeUri(p.uri as string);
      const link = r && this.s.links.get(r.upstream);
      if (link !== undefined) return this.#forward(req, link, { ...p, [key]: r!.name }, ended);
    }
    return this.#forward(req, this.s.links.firstUp(), req.params, ended);
  }

  /** Pass a request through to one upstream and its answer back, unjudged. */
  async #forward(
    req: Request,
    link: UpstreamLink | undefined,
    params: unknown,
    ended?: Ended,
  ): Promise<void> {
    if (link === undefined) {
      const e = errorResponse(req.id, METHOD_NOT_FOUND, `No upstream serves ${req.method} here.`);
      ended?.(e);
      return this.s.down.send(e, req.id);
    }
    const a = await this.s.calls.call(link, req.method, params, req.id);
    ended?.(a);
    if (a !== CANCELLED) this.s.down.send({ ...a, id: req.id }, req.id);
  }
}

/** The most pages, and tools, a guard's own tools/list of an upstream follows (listTools). */
const LIST_PAGES = 16;
const LIST_TOOLS = 10_000;

/**
 * An upstream's tools/list, fetched for a guard through this session's link to it (the path
 * every request to that upstream takes: its timeout, its answer's shape checked): pages followed
 * to LIST_PAGES or LIST_TOOLS. Rejects with why, naming the upstream.
 */
async function listTools(s: SessionParts, upstream: string): Promise<Obj[]> {
  const link = s.links.get(upstream);
  if (link === undefined) throw new Error(`upstream "${upstream}" is not connected`);
  const tools: Obj[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < LIST_PAGES && tools.length < LIST_TOOLS; page++) {
    const a = await s.calls.call(link, "tools/list", cursor === undefined ? {} : { cursor });
    if (a === CANCELLED) throw new Error(`upstream "${upstream}" did not answer tools/list`);
    if (!("result" in a))
      throw new Error(
        `upstream "${upstream}" answered tools/list with an error: ${a.error.message}`,
      );
    const got = (a.result as Obj).tools;
    if (Array.isArray(got))
      for (const t of got)
        if (typeof t === "object" && t !== null && typeof (t as Obj).name === "string")
          tools.push(t as Obj);
    const next = (a.result as Obj).nextCursor;
    if (typeof next !== "string") return tools;
    cursor = next;
  }
  return tools.slice(0, LIST_TOOLS);
}
