/**
 * The plumbing of one downstream session: its upstream links, request-id remapping in both
 * directions, cancellation, progress and server→client requests. Client requests the policy
 * judges are handled in session.ts; everything else passes through here untouched.
 */
import { randomUUID } from "node:crypto";
import { type AuditEntry, type AuditLog, newCallId, type Refusal, refusalEntry } from "./audit.js";
import type { McpCode } from "./codes.js";
import {
  type MessageLimits,
  REQUEST_TIMEOUT_MS,
  type RestartConfig,
  type UpstreamConfig,
} from "./config-types.js";
import {
  type ErrorResponse,
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  isRequest,
  isResponse,
  type Message,
  type Notification,
  type Request,
  type ResultResponse,
  UPSTREAM_TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "./jsonrpc.js";
import type { Judges } from "./judges.js";
import { Naming } from "./naming.js";
import { MAX_SERVER_REQUESTS, serverRequestsFull } from "./server-requests.js";
import { invalidResult } from "./shapes.js";
import type { SharedUpstream } from "./shared-upstream.js";
import { UpstreamLink } from "./upstream-link.js";

/** Where a session's messages to the client go (a stdio or HTTP front). */
export interface Downstream {
  readonly transport: "stdio" | "http";
  readonly host?: string;
  /**
   * Who the client is, as the front established it (never a name the client picked itself):
   * over stdio the config's `caller` (default "stdio"); over HTTP the name of the token the
   * client authenticated with, or "anonymous" without tokens. Rate limits count per caller.
   */
  readonly caller: string;
  /** The session id the client knows (HTTP), if any. */
  readonly sessionId?: string;
  /**
   * Send to the client; `related` is the client request this message belongs to, if any;
   * `json`, when given, is `m` already serialized (an upstream's answer forwarded as is).
   */
  send(m: Message, related?: Id, json?: string): void;
}

/** What a session needs from the gateway; getters so reloads are seen at once. */
export interface GatewayContext {
  readonly upstreams: readonly UpstreamConfig[];
  readonly restart: RestartConfig;
  /** Message limits (default MESSAGE_LIMITS). */
  readonly limits?: MessageLimits;
  judges(): Judges;
  audit(): AuditLog | undefined;
  policyFile(): string;
  log(line: string): void;
  /** Called for every decision (metrics); the audit file is written separately. */
  decided?(rec: AuditEntry, ends: boolean): void;
  readonly version: string;
  /** The config's caller_includes_client_name (see GatewayConfig). */
  readonly callerIncludesClientName?: boolean;
  /** The gateway's shared connection to an upstream with `sessions: shared`, if it is one. */
  shared?(cfg: UpstreamConfig): SharedUpstream | undefined;
  /** Told of each upstream link a session makes (the gateway's upstream health follows it). */
  linkMade?(link: UpstreamLink): void;
}

export type Answer = ResultResponse | ErrorResponse;
/** Why a notification went nowhere, for its passthrough line (audit.level all). */
const FOREIGN = "dropped: progress on a request another upstream serves";
const NO_URI = 'dropped: "params.uri" is not a string';
const UNKNOWN_ID = "dropped: it names no request in flight";
export const CANCELLED = Symbol("cancelled");
/** `raw`: the answer's exact text from the upstream, where its transport keeps it. */
type Done = (a: Answer | typeof CANCELLED, raw?: string) => void;
type Pending = {
  done: Done;
  link: UpstreamLink;
  clientId: Id | undefined;
  method: string;
  /** Fires when the upstream takes longer than its request_timeout_ms; progress resets it. */
  timer: NodeJS.Timeout;
};
type ServerReq = { link: UpstreamLink; id: Id; method: string };

export class SessionCore {
  /** The Mcp-Session-Id over HTTP; a fresh UUID over stdio. */
  readonly id: string;
  client = "unknown";
  /** Who asks: the front's authenticated caller (plus the client's name when configured). */
  caller: string;
  closed = false;
  protected readonly links = new Map<string, UpstreamLink>();
  protected naming: Naming;
  protected initParams: Record<string, unknown> | undefined;
  protected clientInitialized = false;
  /** Upstream capabilities from its initialize result. */
  protected readonly caps = new Map<string, Record<string, unknown>>();
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #byClient = new Map<Id, number[]>();
  /** A progress token of a pending client request: the client's id and the link it went to. */
  readonly #progress = new Map<unknown, { clientId: Id; link: UpstreamLink; gid: number }>();
  readonly #serverReqs = new Map<number, ServerReq>();
  readonly #serverRev = new Map<string, number>();
  readonly #lastInflight = new Map<string, Id>();

  constructor(
    protected readonly ctx: GatewayContext,
    protected readonly down: Downstream,
  ) {
    this.id = down.sessionId ?? randomUUID();
    this.caller = down.caller;
    this.naming = new Naming(ctx.upstreams);
    for (const cfg of ctx.upstreams) this.#makeLink(cfg, ctx.restart);
  }

  #makeLink(cfg: UpstreamConfig, restart: RestartConfig): UpstreamLink {
    const link = new UpstreamLink(cfg, restart);
    link.onmessage = (r) => this.#fromUpstream(link, r.message, r.raw);
    link.ondown = (reason) => this.#linkDown(link, reason);
    link.log = this.ctx.log;
    const shared = this.ctx.shared?.(cfg);
    if (shared !== undefined) {
      // one connection for every session: this link is this session's channel on it
      link.connect = () => shared.connect();
      link.log = () => {}; // the shared link logs its restarts once, not once per session
    }
    if (this.ctx.limits !== undefined) link.limits = this.ctx.limits;
    this.links.set(cfg.name, link);
    this.ctx.linkMade?.(link);
    return link;
  }

  /**
   * A config reload changed the upstreams: close the links that are gone or changed (failing
   * what is pending on them), make links for the new ones (returned, not started yet), and
   * rebuild the names.
   */
  protected swapUpstreams(cfgs: readonly UpstreamConfig[], restart: RestartConfig): UpstreamLink[] {
    const next = new Map(cfgs.map((c) => [c.name, c]));
    for (const [name, link] of [...this.links]) {
      const c = next.get(name);
      if (c !== undefined && JSON.stringify(c) === JSON.stringify(link.cfg)) continue;
      this.#linkDown(link, "removed or changed by a config reload");
      link.close().catch(() => {});
      this.links.delete(name);
      this.caps.delete(name);
    }
    const added: UpstreamLink[] = [];
    for (const c of cfgs) if (!this.links.has(c.name)) added.push(this.#makeLink(c, restart));
    const ordered = cfgs.map((c) => this.links.get(c.name)!);
    this.links.clear();
    for (const l of ordered) this.links.set(l.name, l);
    this.naming = new Naming(cfgs);
    return added;
  }

  /** The upstream links of this session (name, state, child pid, restarts), for status and tests. */
  upstreams(): { name: string; state: string; pid: number | null; restarts: number }[] {
    return [...this.links.values()].map((l) => ({
      name: l.name,
      state: l.state,
      pid: l.pid(),
      restarts: l.restarts,
    }));
  }

  /**
   * Send a request to an upstream; `done` gets its answer, or CANCELLED (possibly at once, when
   * the link is down). A callback rather than a Promise: one microtask hop less per answer.
   */
  protected callThen(
    link: UpstreamLink,
    method: string,
    params: unknown,
    clientId: Id | undefined,
    done: Done,
  ): void {
    const gid = this.#nextId++;
    const timer = setTimeout(
      () => this.#timeout(gid),
      link.cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    );
    timer.unref();
    this.#pending.set(gid, { done, link, clientId, method, timer });
    if (clientId !== undefined) {
      const list = this.#byClient.get(clientId);
      if (list === undefined) this.#byClient.set(clientId, [gid]);
      else list.push(gid);
      this.#lastInflight.set(link.name, clientId);
      const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
        ?.progressToken;
      if (token !== undefined) this.#progress.set(token, { clientId, link, gid });
    }
    link.post({ jsonrpc: "2.0", id: gid, method, params } as Message, (e) =>
      this.#settle(gid, this.#unavailable(gid, link, e.message)),
    );
  }

  /** Send a request to an upstream; resolves with its answer, or CANCELLED. */
  protected call(
    link: UpstreamLink,
    method: string,
    params: unknown,
    clientId?: Id,
  ): Promise<Answer | typeof CANCELLED> {
    return new Promise((resolve) => this.callThen(link, method, params, clientId, resolve));
  }

  /** An upstream's answer that is not the shape MCP gives it: refused, and logged. */
  #invalid(id: number, link: UpstreamLink, method: string, why: string): ErrorResponse {
    this.ctx.log(
      `upstream "${link.name}" answered ${method} with an invalid result (${why}); refused`,
    );
    return errorResponse(
      id,
      INTERNAL_ERROR,
      `Upstream "${link.name}" answered ${method} with a result that is not valid MCP (${why}); Warden refused it. Report it to the server's authors.`,
      { warden: "message_invalid", upstream: link.name },
    );
  }

  #unavailable(id: Id, link: UpstreamLink, why: string): ErrorResponse {
    return errorResponse(
      id,
      UPSTREAM_UNAVAILABLE,
      `Upstream "${link.name}" is unavailable (${why}); Warden restarts it with backoff, retry shortly.`,
      { warden: "upstream_unavailable", upstream: link.name, state: link.state },
    );
  }

  /** No answer in time: cancel the request upstream and answer it with an error. */
  #timeout(gid: number): void {
    const p = this.#pending.get(gid);
    if (p === undefined) return;
    const ms = p.link.cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const why = `did not answer ${p.method} within ${ms} ms (upstreams[].request_timeout_ms in warden.yaml)`;
    this.ctx.log(`upstream "${p.link.name}" ${why}; cancelled`);
    p.link.post({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: gid, reason: `Warden: no answer within ${ms} ms` },
    });
    this.#finish(
      gid,
      p,
      errorResponse(
        gid,
        UPSTREAM_TIMEOUT,
        `Upstream "${p.link.name}" ${why}; Warden cancelled the request. Retry, or raise the timeout for a slow tool.`,
        { warden: "upstream_timeout", upstream: p.link.name, timeout_ms: ms },
      ),
    );
  }

  #settle(gid: number, a: Answer | typeof CANCELLED): void {
    const p = this.#pending.get(gid);
    if (p !== undefined) this.#finish(gid, p, a);
  }

  /** Request `gid` (pending as `p`) is over: forget it and tell its caller. */
  #finish(gid: number, p: Pending, a: Answer | typeof CANCELLED, raw?: string): void {
    this.#pending.delete(gid);
    clearTimeout(p.timer);
    const cid = p.clientId;
    if (cid !== undefined) {
      const list = this.#byClient.get(cid);
      if (list !== undefined) {
        if (list.length === 1) this.#byClient.delete(cid);
        else list.splice(list.indexOf(gid), 1);
      }
      if (this.#lastInflight.get(p.link.name) === cid) this.#lastInflight.delete(p.link.name);
    }
    try {
      p.done(a, raw);
    } catch (e) {
      // A bug or a shape no check foresaw costs this request an error, never the process.
      this.ctx.log(
        `request ${p.method} to upstream "${p.link.name}" failed: ${(e as Error).stack}`,
      );
      if (cid !== undefined)
        this.replyError(
          errorResponse(cid, INTERNAL_ERROR, `Warden gateway error: ${(e as Error).message}`),
        );
    }
  }

  /** Release a progress token once its request is answered. */
  protected doneProgress(params: unknown): void {
    const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
      ?.progressToken;
    if (token !== undefined) this.#progress.delete(token);
  }

  #linkDown(link: UpstreamLink, reason: string): void {
    for (const [gid, p] of this.#pending)
      if (p.link === link) this.#settle(gid, this.#unavailable(gid, link, reason));
    for (const [sid, r] of this.#serverReqs)
      if (r.link === link) {
        this.#serverReqs.delete(sid);
        this.#serverRev.delete(`${link.name}\0${r.id}`);
      }
  }

  #fromUpstream(link: UpstreamLink, m: Message, raw?: string): void {
    if (this.closed) return;
    try {
      this.#route(link, m, raw);
    } catch (e) {
      this.ctx.log(
        `upstream "${link.name}" sent a message the gateway could not handle; dropped: ${(e as Error).stack}`,
      );
    }
  }

  #route(link: UpstreamLink, m: Message, raw?: string): void {
    if (isResponse(m)) {
      // Only the upstream a request went to may answer it: gateway ids are one sequence per
      // session, so another upstream could guess them and answer in its place.
      if (typeof m.id !== "number") return;
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      if (p.link !== link) this.#foreign(link, `an answer to request ${m.id}`, p.link);
      else if ("result" in m) {
        const bad = invalidResult(p.method, m.result);
        if (bad === undefined) this.#finish(m.id, p, m as Answer, raw);
        else this.#finish(m.id, p, this.#invalid(m.id, link, p.method, bad));
      } else this.#finish(m.id, p, m as Answer, raw);
      return;
    }
    if (isRequest(m)) {
      if (typeof m.id === "number" && !Number.isSafeInteger(m.id)) {
        const why = `the ${m.method} request's id ${String(m.id)} (as parsed) is not a safe integer`;
        link.post(
          errorResponse(m.id, INVALID_REQUEST, `Invalid Request: ${why}; use a string id.`, {
            warden: "id_unsafe",
          }),
        );
        this.ctx.log(`upstream "${link.name}": ${why}; refused`);
        return;
      }
      if (m.method === "ping") {
        link.post({ jsonrpc: "2.0", id: m.id, result: {} });
        this.passed("ping", "upstream", link.name);
        return;
      }
      if (this.#serverReqs.size >= MAX_SERVER_REQUESTS) {
        this.#serverRequestsFull(link, m);
        return;
      }
      this.passed(m.method, "upstream", link.name);
      const sid = this.#nextId++;
      this.#serverReqs.set(sid, { link, id: m.id, method: m.method });
      this.#serverRev.set(`${link.name}\0${m.id}`, sid);
      this.down.send({ ...m, id: sid }, this.#lastInflight.get(link.name));
      return;
    }
    const n = m as Notification;
    const params = n.params ?? {};
    switch (n.method) {
      case "notifications/progress": {
        const p = this.#progress.get(params.progressToken);
        if (p !== undefined && p.link === link) this.#pending.get(p.gid)?.timer.refresh();
        if (p === undefined || p.link === link) this.down.send(n, p?.clientId);
        else this.#foreign(link, "progress on a request", p.link);
        this.passed(
          n.method,
          "upstream",
          link.name,
          p === undefined || p.link === link ? "" : FOREIGN,
        );
        return;
      }
      case "notifications/cancelled": {
        const sid = this.#serverRev.get(`${link.name}\0${String(params.requestId)}`);
        this.passed(n.method, "upstream", link.name, sid === undefined ? UNKNOWN_ID : "");
        if (sid === undefined) return;
        this.down.send({ ...n, params: { ...params, requestId: sid } });
        return;
      }
      case "notifications/resources/updated":
        this.passed(n.method, "upstream", link.name, typeof params.uri === "string" ? "" : NO_URI);
        if (typeof params.uri === "string")
          this.down.send({
            ...n,
            params: { ...params, uri: this.naming.publicUri(link.name, params.uri) },
          });
        return;
      case "notifications/message":
        this.passed(n.method, "upstream", link.name);
        this.down.send(n, this.#lastInflight.get(link.name));
        return;
      default:
        this.passed(n.method, "upstream", link.name);
        this.down.send(n);
    }
  }

  /** An upstream spoke for a request another upstream serves: dropped, and logged. */
  #foreign(link: UpstreamLink, what: string, owner: UpstreamLink): void {
    this.ctx.log(
      `upstream "${link.name}" sent ${what} that went to upstream "${owner.name}"; dropped (only the upstream a request went to may answer it or report its progress)`,
    );
  }

  /** A client's answer to a server→client request: back to the upstream that asked. */
  protected answerFromClient(m: Answer, transform?: (r: ServerReq, m: Answer) => Answer): void {
    if (typeof m.id !== "number") return;
    const r = this.#serverReqs.get(m.id);
    if (r === undefined) return;
    this.#serverReqs.delete(m.id);
    this.#serverRev.delete(`${r.link.name}\0${r.id}`);
    // roots/list answers are judged (their decision line is written there)
    if (r.method !== "roots/list") this.passed(r.method, "client", r.link.name);
    const out = transform ? transform(r, m) : m;
    r.link.post({ ...out, id: r.id } as Message);
  }

  /** The client cancelled one of its requests: tell the upstream(s), stop waiting. */
  protected cancelFromClient(n: Notification): void {
    const cid = n.params?.requestId as Id | undefined;
    const gids = cid === undefined ? undefined : this.#byClient.get(cid);
    if (gids === undefined) {
      this.passed(n.method, "client", null, UNKNOWN_ID);
      return;
    }
    for (const gid of [...gids]) {
      const p = this.#pending.get(gid);
      if (p === undefined) continue;
      // the cancelled call's own outcome line says `cancelled`; at level all, a line for this too
      this.passed(n.method, "client", p.link.name);
      p.link.post({ ...n, params: { ...n.params, requestId: gid } } as Message);
      this.#settle(gid, CANCELLED);
    }
  }

  protected broadcast(n: Notification): void {
    for (const link of this.links.values()) if (link.state === "up") link.post(n);
  }

  /** A server→client request past MAX_SERVER_REQUESTS unanswered: refused upstream, audited. */
  #serverRequestsFull(link: UpstreamLink, m: Request): void {
    const why = `upstream "${link.name}" already has ${MAX_SERVER_REQUESTS} requests to the client unanswered`;
    link.post(serverRequestsFull(m, why));
    this.ctx.log(`${why}; refused its ${m.method}`);
    this.refused({ method: m.method, code: "server_requests_full", reason: why });
  }

  protected reply(id: Id, result: Record<string, unknown>): void {
    this.down.send({ jsonrpc: "2.0", id, result }, id);
  }

  protected replyError(e: ErrorResponse): void {
    this.down.send(e, e.id ?? undefined);
  }

  /**
   * One audit line (docs/audit.md); time, session, caller and a call_id if none are added.
   * `forwarded`: a decision line whose outcome line follows (metrics time the call once).
   */
  protected audit(rec: AuditEntry, forwarded = false): void {
    this.ctx.decided?.(rec, !forwarded);
    const a = this.ctx.audit();
    if (a === undefined) return;
    const { call_id, ...rest } = rec;
    a.write({
      time: new Date().toISOString(),
      call_id: call_id ?? newCallId(),
      caller: this.caller,
      client: this.client,
      session: this.id,
      ...rest,
    });
  }

  /** A message refused before it was judged: its decision line, with its code. */
  refused(r: Refusal): void {
    this.audit(refusalEntry(r));
  }

  /** Answer `e`, a refusal of `method` (with its data.warden code), and audit it. */
  protected replyRefused(e: ErrorResponse, method: string, name?: string): void {
    const code = (e.error.data as { warden?: McpCode } | undefined)?.warden ?? "message_invalid";
    this.refused({
      method,
      code,
      reason: e.error.message,
      ...(name === undefined ? {} : { name }),
    });
    this.replyError(e);
  }

  /**
   * At audit.level all: a line (phase event, kind passthrough) for a message passed on unjudged
   * (a ping: answered by the gateway itself); `dropped`, when not empty, says why it went nowhere.
   */
  protected passed(
    method: string,
    from: "client" | "upstream",
    upstream: string | null,
    dropped = "",
  ): void {
    if (this.ctx.audit()?.level !== "all") return;
    const rec: AuditEntry = {
      phase: "event",
      kind: "passthrough",
      from,
      upstream,
      method,
      decision: dropped === "" ? "allow" : "deny",
      duration_ms: 0,
    };
    if (dropped !== "") rec.reason = dropped;
    // not a call: no decision counted, no time observed
    this.audit(rec, true);
  }

  /** Close every upstream link (children are stopped) and fail what is pending. */
  #closing: Promise<void> | undefined;
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.closed = true;
      for (const [gid] of this.#pending) this.#settle(gid, CANCELLED);
      await Promise.all([...this.links.values()].map((l) => l.close()));
    })();
    return this.#closing;
  }
}
