/**
 * One downstream session: routes client messages to upstreams and judges the methods the
 * policy cares about (initialize, lists, tools/call, prompts/get, resources/read and
 * subscribe, completion/complete, roots/list answers). Every other method passes through.
 */
import { type Decision, isAllowed } from "../core/decision.js";
import { refusal, refusalEntry } from "./audit.js";
import { denialError } from "./denial.js";
import {
  answerWithId,
  type ErrorResponse,
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isRequest,
  isResponse,
  METHOD_NOT_FOUND,
  type Message,
  type Notification,
  type Request,
  type ResultResponse,
} from "./jsonrpc.js";
import type { GatewayPhase } from "./judges.js";
import { publicContent } from "./merge.js";
import type { Naming } from "./naming.js";
import { JudgedSession, SECTION } from "./session-connect.js";
import { type Answer, CANCELLED } from "./session-core.js";
import { handleList, LIST_METHODS } from "./session-lists.js";
import { refuseRequest, unknownMethod, withoutId } from "./session-refusals.js";
import { TASK_METHODS, type TaskHost, TaskRoutes } from "./session-tasks.js";
import { invalidParams, invalidResult } from "./shapes.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

export class GatewaySession extends JudgedSession {
  readonly #tasks = new TaskRoutes();

  /** Handle one message from the client. */
  receive(m: Message): void {
    if (this.closed) return;
    try {
      this.#receive(m);
    } catch (e) {
      // Every handler is guarded: a message nothing foresaw costs its sender, not the process.
      this.ctx.log(`a client message could not be handled; dropped: ${(e as Error).stack}`);
    }
  }

  #receive(m: Message): void {
    if (isRequest(m)) {
      const fail = (e: Error) =>
        this.replyError(errorResponse(m.id, INTERNAL_ERROR, `Warden gateway error: ${e.message}`));
      const refusal = refuseRequest(m, this.lifecycle);
      if (refusal !== undefined) {
        this.replyRefused(refusal, m.method);
        return;
      }
      try {
        this.#request(m)?.catch(fail);
      } catch (e) {
        fail(e as Error);
      }
    } else if (isResponse(m)) {
      this.answerFromClient(m as Answer, (r, a) =>
        r.method === "roots/list" ? this.#roots(r.link, a) : a,
      );
    } else this.#notification(m as Notification);
  }

  #notification(n: Notification) {
    if (!n.method.startsWith("notifications/")) return this.#requestWithoutId(n);
    if (n.method === "notifications/cancelled") return this.cancelFromClient(n);
    if (n.method === "notifications/initialized") this.clientInitialized = true;
    this.passed(n.method, "client", null);
    this.broadcast(n);
  }

  /**
   * A request method sent as a notification (no id): it cannot be answered, so it is neither
   * judged nor forwarded (an upstream would execute it unjudged); dropped, logged and audited.
   */
  #requestWithoutId(n: Notification): void {
    const p = (n.params ?? {}) as Obj;
    const target = typeof p.name === "string" ? p.name : typeof p.uri === "string" ? p.uri : "";
    const reason = withoutId(n.method);
    const r = refusal(n.method, "id_missing", reason, target || undefined);
    this.audit({ ...refusalEntry(r), ...this.ctx.audit()?.args(p) });
    this.ctx.log(`session ${this.id}: ${reason}`);
  }

  /** Route one client request; the hot paths (tools/call, ...) return nothing, others a Promise. */
  #request(req: Request): Promise<void> | undefined {
    const p = (req.params ?? {}) as Obj;
    const bad = invalidParams(req.method, p);
    if (bad !== undefined) {
      this.replyRefused(
        errorResponse(req.id, INVALID_PARAMS, `Invalid params for ${req.method}: ${bad}.`, {
          warden: "message_invalid",
        }),
        req.method,
      );
      return;
    }
    switch (req.method) {
      case "initialize":
        return this.initialize(req, p);
      case "ping":
        this.passed("ping", "client", null);
        this.reply(req.id, {});
        return;
      case "tools/call":
        return this.#routed(
          req,
          p,
          "tool_invoke",
          String(p.name),
          this.naming.route(String(p.name)),
          "name",
          "tool",
        );
      case "prompts/get":
        return this.#routed(
          req,
          p,
          "request",
          String(p.name),
          this.naming.route(String(p.name)),
          "name",
          "prompt",
        );
      case "resources/read":
      case "resources/subscribe":
        return this.#routed(
          req,
          p,
          "request",
          String(p.uri),
          this.naming.routeUri(String(p.uri)),
          "uri",
          "resource",
        );
      case "resources/unsubscribe": {
        const r = this.naming.routeUri(String(p.uri));
        this.passed(req.method, "client", r?.upstream ?? null);
        return this.#forward(req, r && this.links.get(r.upstream), r ? { ...p, uri: r.name } : p);
      }
      case "completion/complete":
        return this.#complete(req, p);
      case "logging/setLevel":
        this.passed(req.method, "client", null);
        return this.#fanOutEmpty(req, p);
      default:
        if (LIST_METHODS.has(req.method)) return handleList(this.#listHost(), req, p);
        if (TASK_METHODS.has(req.method)) return this.#tasks.handle(this.#taskHost(), req, p);
        return this.#unknown(req, p);
    }
  }

  /**
   * A method that is not one of MCP's client requests: refused with -32601 unless the policy
   * lists it (`mcp.methods.allow`), so that no request reaches an upstream unjudged.
   */
  #unknown(req: Request, p: Obj): Promise<void> | undefined {
    const t0 = performance.now();
    const { call, chain } = this.judge("request", req.method, null, p, req.method);
    const d = chain.before(call);
    if (isAllowed(d)) {
      // A decision line now and an outcome line when the answer comes, as for judged calls.
      this.forwarded(call, req.method, undefined, t0);
      return this.#passThrough(req, p, (a) => this.outcome(call, req.method, undefined, t0, a));
    }
    if (d.by !== "policy") {
      this.deny(req, call, d, req.method, t0);
      return;
    }
    this.audit({
      phase: "decision",
      upstream: null,
      method: req.method,
      decision: "deny",
      rule: d.rule,
      reason: d.reason,
      code: "method_unknown",
      duration_ms: performance.now() - t0,
      ...this.ctx.audit()?.args(p),
    });
    this.replyError(unknownMethod(req, d, this.ctx.policyFile()));
    return;
  }

  /**
   * A method the policy allows but the gateway does not know: to the upstream its `params.name` or
   * `params.uri` names (a prefixed name or URI; the prefix is removed), else to the first
   * upstream that is up (see docs/gateway.md, "Sessions and routing").
   */
  #passThrough(req: Request, p: Obj, ended: (a: Answer | typeof CANCELLED) => void): Promise<void> {
    const key = typeof p.name === "string" ? "name" : typeof p.uri === "string" ? "uri" : undefined;
    if (key !== undefined) {
      const r =
        key === "name"
          ? this.naming.route(p.name as string)
          : this.naming.routeUri(p.uri as string);
      const link = r && this.links.get(r.upstream);
      if (link !== undefined) return this.#forward(req, link, { ...p, [key]: r!.name }, ended);
    }
    let link: UpstreamLink | undefined;
    for (const l of this.links.values()) if (l.state === "up") link ??= l;
    return this.#forward(req, link ?? this.links.values().next().value, req.params, ended);
  }

  /** Pass a request through to one upstream and its answer back, unjudged. */
  async #forward(
    req: Request,
    link: UpstreamLink | undefined,
    params: unknown,
    ended?: (a: Answer | typeof CANCELLED) => void,
  ): Promise<void> {
    if (link === undefined) {
      const e = errorResponse(req.id, METHOD_NOT_FOUND, `No upstream serves ${req.method} here.`);
      ended?.(e);
      return this.replyError(e);
    }
    const a = await this.call(link, req.method, params, req.id);
    ended?.(a);
    if (a !== CANCELLED) this.down.send({ ...a, id: req.id }, req.id);
  }

  async #fanOutEmpty(req: Request, p: Obj): Promise<void> {
    const links = [...this.links.values()].filter(
      (l) => l.state === "up" && (this.links.size === 1 || this.caps.get(l.name)?.logging),
    );
    const answers = await Promise.all(links.map((l) => this.call(l, req.method, p, req.id)));
    if (answers.includes(CANCELLED)) return;
    const errs = answers.filter((a): a is Answer => a !== CANCELLED && "error" in a);
    if (errs.length > 0 && errs.length === answers.length)
      return this.down.send({ ...errs[0]!, id: req.id }, req.id);
    this.reply(req.id, {});
  }

  /** tools/call, prompts/get, resources/read|subscribe: route, judge, forward, judge the answer. */
  #routed(
    req: Request,
    p: Obj,
    phase: GatewayPhase,
    publicName: string,
    r: { upstream: string; name: string } | undefined,
    key: "name" | "uri",
    kind: string,
  ): undefined {
    const t0 = performance.now();
    const link = r && this.links.get(r.upstream);
    if (r === undefined || link === undefined) {
      this.replyRefused(
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
    const { call, chain } = this.judge(
      phase,
      kind === "tool" ? publicName : req.method,
      r.upstream,
      args,
      req.method,
    );
    if (phase === "request") {
      call.meta!.target = publicName;
      call.meta!.name = r.name;
    }
    const d = chain.before(call);
    if (!isAllowed(d)) {
      this.deny(req, call, d, `${req.method} "${publicName}"`, t0);
      return;
    }
    let fwd: Obj = p;
    if (kind === "tool") fwd = { ...p, name: r.name, arguments: call.args };
    else if (call.args !== p) fwd = { ...(call.args as Obj), [key]: r.name };
    else if (r.name !== publicName) fwd = { ...p, [key]: r.name };
    this.forwarded(call, req.method, publicName, t0);
    this.callThen(link, req.method, fwd, req.id, (a, raw) => {
      this.doneProgress(p);
      if (a === CANCELLED) return this.outcome(call, req.method, publicName, t0, a);
      // A task-augmented call (`task`, or `_meta.task` of early drafts) answers with its task.
      if (kind === "tool" && "result" in a && a.result.task !== undefined)
        this.#tasks.created(link, publicName, r.name, a.result, this.ctx.log);
      let out: Answer;
      let json: string | undefined;
      const how: { refused?: Decision; failed?: boolean } = {};
      try {
        if (!("result" in a)) out = a;
        else {
          json = raw === undefined ? undefined : this.#asIs(link, a, raw, req.id);
          out = json === undefined ? this.#answer(req, link, a.result, publicName, r.name, how) : a;
        }
      } catch (e) {
        how.failed = true;
        out = errorResponse(
          req.id,
          INTERNAL_ERROR,
          `Warden gateway error: ${(e as Error).message}`,
        );
      }
      // The answer first: the audit record and metrics (redaction, JSON, histograms) are off
      // the client's critical path; the audit line is written in the same event-loop turn.
      this.down.send({ ...out, id: req.id }, req.id, json);
      this.outcome(call, req.method, publicName, t0, out, how);
    });
  }

  /**
   * The upstream's answer text with the client's id, when the gateway would send the same
   * answer anyway: no prefix to rewrite on this link, no response judges besides the policy
   * (which judges no tools/call, prompts/get or resources/read answer), and no key besides
   * jsonrpc, id and result. Saves serializing every answer again; undefined otherwise.
   */
  #asIs(link: UpstreamLink, a: ResultResponse, raw: string, to: Id): string | undefined {
    if (link.cfg.prefix || this.ctx.judges().response.strategies.length > 1) return undefined;
    for (const k in a) if (k !== "jsonrpc" && k !== "id" && k !== "result") return undefined;
    return typeof a.id === "number" ? answerWithId(raw, a.id, to) : undefined;
  }

  /**
   * Rewrite names in an answer and run the response phase; the judged call names the request it
   * answers (meta.target: the public name, meta.name: the upstream's own one).
   */
  #answer(
    req: Request,
    link: UpstreamLink,
    result: Obj,
    publicName: string,
    name: string,
    how: { refused?: Decision },
    as = req.method,
  ): Answer {
    let res = result;
    if (link.cfg.prefix) res = rewriteResult(this.naming, link.name, as, res);
    const chain = this.ctx.judges().response;
    if (chain.strategies.length > 1) {
      const j = this.judge("response", as, link.name, res, as);
      j.call.meta!.target = publicName;
      j.call.meta!.name = name;
      const d = j.chain.before(j.call);
      if (!isAllowed(d)) {
        how.refused = d;
        const [code, section] = SECTION[req.method] ?? ["guard_denied", "mcp"];
        return denialError(req.id, d, {
          code,
          what: `the answer to ${req.method} "${publicName}"`,
          section,
          policyFile: this.ctx.policyFile(),
        });
      }
      res = j.call.args as Obj;
    }
    return { jsonrpc: "2.0", id: req.id, result: res };
  }

  async #complete(req: Request, p: Obj): Promise<void> {
    const ref = (p.ref ?? {}) as Obj;
    const isPrompt = ref.type === "ref/prompt";
    const pub = String(isPrompt ? ref.name : ref.uri);
    const r = isPrompt ? this.naming.route(pub) : this.naming.routeUri(pub);
    const t0 = performance.now();
    const link = r && this.links.get(r.upstream);
    if (r === undefined || link === undefined)
      return this.replyRefused(
        errorResponse(
          req.id,
          INVALID_PARAMS,
          `Unknown completion reference "${pub}": no upstream serves it.`,
          { warden: "unknown_target" },
        ),
        req.method,
        pub,
      );
    const { call, chain } = this.judge("request", req.method, r.upstream, p, req.method);
    const d = chain.before(call);
    if (!isAllowed(d)) return this.deny(req, call, d, `completion/complete for "${pub}"`, t0);
    const fwd = { ...(call.args as Obj), ref: { ...ref, [isPrompt ? "name" : "uri"]: r.name } };
    this.forwarded(call, req.method, pub, t0);
    const a = await this.call(link, req.method, fwd, req.id);
    this.outcome(call, req.method, pub, t0, a);
    if (a === CANCELLED) return;
    this.down.send({ ...a, id: req.id }, req.id);
  }

  /** The roots a client sends up are limited to what the policy's storage allows. */
  #roots(link: UpstreamLink, a: Answer): Answer {
    if (!("result" in a)) return a;
    const bad = invalidResult("roots/list", a.result);
    if (bad !== undefined) {
      this.ctx.log(`the client answered roots/list with an invalid result (${bad}); refused`);
      return errorResponse(
        a.id,
        INTERNAL_ERROR,
        `The client's answer to roots/list is not valid MCP (${bad}); Warden refused it.`,
        { warden: "message_invalid" },
      );
    }
    const roots = Array.isArray(a.result.roots) ? [...(a.result.roots as unknown[])] : [];
    const { call, chain } = this.judge(
      "response",
      "roots/list",
      link.name,
      { ...a.result, roots },
      "roots/list",
    );
    const d = chain.before(call);
    const meta = call.meta!;
    const kept = isAllowed(d) ? ((call.args as Obj).roots as unknown[]) : [];
    this.audit({
      call_id: meta.call_id,
      phase: "decision",
      upstream: link.name,
      method: "roots/list",
      decision: meta.hidden?.length || !isAllowed(d) ? "deny" : "allow",
      reason: meta.hidden?.length ? "roots outside the policy's storage were removed" : d.reason,
      duration_ms: 0,
      hidden: meta.hidden,
    });
    return { ...a, result: { ...(call.args as Obj), roots: kept } };
  }

  #taskHost(): TaskHost {
    return {
      call: this.call.bind(this),
      judge: this.judge.bind(this),
      deny: this.deny.bind(this),
      forwarded: this.forwarded.bind(this),
      outcome: this.outcome.bind(this),
      answer: (req, link, result, publicName, name, how, as) =>
        this.#answer(req, link, result, publicName, name, how, as),
      send: (a, related) => this.down.send(a, related),
      refuse: (e, method, name) => this.replyRefused(e, method, name),
      log: this.ctx.log,
    };
  }

  #listHost() {
    return {
      links: this.links,
      caps: this.caps,
      naming: this.naming,
      call: this.call.bind(this),
      judge: this.judge.bind(this),
      deny: this.deny.bind(this),
      reply: this.reply.bind(this),
      send: (m: Message, related?: Id) => this.down.send(m, related),
      audit: this.audit.bind(this),
      refuse: (e: ErrorResponse, method: string) => this.replyRefused(e, method),
      ended: (method: string, upstream: string | null, t0: number, a: Answer | typeof CANCELLED) =>
        this.outcome(
          this.judge("response", method, upstream, {}, method).call,
          method,
          undefined,
          t0,
          a,
        ),
      log: this.ctx.log,
    };
  }
}

export function rewriteResult(naming: Naming, upstream: string, method: string, res: Obj): Obj {
  if (method === "tools/call" && Array.isArray(res.content))
    return { ...res, content: publicContent(naming, upstream, res.content) };
  if (method === "resources/read" && Array.isArray(res.contents))
    return {
      ...res,
      contents: (res.contents as Obj[]).map((c) =>
        typeof c.uri === "string" ? { ...c, uri: naming.publicUri(upstream, c.uri) } : c,
      ),
    };
  if (method === "prompts/get" && Array.isArray(res.messages))
    return {
      ...res,
      messages: (res.messages as Obj[]).map((m) => ({
        ...m,
        content: Array.isArray(m.content)
          ? publicContent(naming, upstream, m.content)
          : (publicContent(naming, upstream, [m.content]) as unknown[])[0],
      })),
    };
  return res;
}
