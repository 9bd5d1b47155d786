/**
 * The calls of one session in flight upstream, and the upstreams' requests to the client:
 * gateway ids (one sequence per session) mapped back to the client's, timeouts
 * (request_timeout_ms), progress tokens, cancellation both ways, server→client requests (bounded:
 * MAX_SERVER_REQUESTS) and a link going down failing what is pending on it.
 */
import type { Refusal } from "./audit.js";
import { REQUEST_TIMEOUT_MS } from "./config-types.js";
import {
  type ErrorResponse,
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  type Message,
  type Notification,
  type Request,
  UPSTREAM_TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "./jsonrpc.js";
import { MAX_SERVER_REQUESTS, serverRequestsFull } from "./server-requests.js";
import type { SessionAudit } from "./session-audit.js";
import {
  type Answer,
  CANCELLED,
  type Downstream,
  type GatewayContext,
  type UpstreamAnswer,
} from "./session-core.js";
import { invalidResult } from "./shapes.js";
import { MAX_WAITING, type UpstreamLink } from "./upstream-link.js";
import type { Received } from "./upstream-transport.js";

/** Why a notification went nowhere, for its passthrough line (audit.level all). */
const FOREIGN = "dropped: progress on a request another upstream serves";
export const UNKNOWN_ID = "dropped: it names no request in flight";

/** Where a call's answer goes: the upstream's answer (with its text), or CANCELLED. */
export type Done = (a: UpstreamAnswer | typeof CANCELLED) => void;
/** What an answer that comes after its call was cancelled or timed out is still good for. */
export type Late = (a: UpstreamAnswer) => void;
/** Cancelled or timed-out calls whose late answer is still read (`Late`), oldest dropped first. */
const MAX_LATE = 1024;
type Pending = {
  done: Done;
  late: Late | undefined;
  link: UpstreamLink;
  clientId: Id | undefined;
  method: string;
  /** Fires when the upstream takes longer than its request_timeout_ms; progress resets it. */
  timer: NodeJS.Timeout;
  /** Sent to the upstream (false while it waits for a link a reload added to be ready). */
  sent: boolean;
};
/** An upstream's request to the client waiting for its answer: who asked, and its own id. */
export type ServerRequest = { link: UpstreamLink; id: Id; method: string };

/** An answer the gateway made itself: no upstream text to forward. */
const made = (message: Answer): UpstreamAnswer => ({ message, raw: undefined, related: undefined });

export class Calls {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #byClient = new Map<Id, number[]>();
  /** A progress token of a pending client request: the client's id and the link it went to. */
  readonly #progress = new Map<unknown, { clientId: Id; link: UpstreamLink; gid: number }>();
  readonly #serverReqs = new Map<number, ServerRequest>();
  readonly #serverRev = new Map<string, number>();
  /** Per upstream, the client request sent to it last and still in flight (log messages go with it). */
  readonly #lastInflight = new Map<string, Id>();
  /** Calls cancelled or timed out whose answer may still come: gid → its link and `late`. */
  readonly #late = new Map<number, { link: UpstreamLink; late: Late }>();

  constructor(
    readonly ctx: GatewayContext,
    readonly down: Downstream,
    readonly audit: SessionAudit,
  ) {}

  /**
   * Send a request to an upstream; `done` gets its answer, or CANCELLED (possibly at once, when
   * the link is down). A callback rather than a Promise: one microtask hop less per answer.
   * Returns the call's id (see `lateTo`). A link a config reload just added is being started
   * and initialized: the call waits for it (in arrival order, within its request_timeout_ms)
   * and is sent then, unless `now` (the session's own initialize of that link).
   */
  callThen(
    link: UpstreamLink,
    method: string,
    params: unknown,
    clientId: Id | undefined,
    trace: readonly string[] | undefined,
    done: Done,
    now = false,
  ): number {
    const gid = this.#nextId++;
    const timer = setTimeout(
      () => this.#timeout(gid),
      link.cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    );
    timer.unref();
    const p: Pending = { done, late: undefined, link, clientId, method, timer, sent: true };
    this.#pending.set(gid, p);
    if (clientId !== undefined) {
      const list = this.#byClient.get(clientId);
      if (list === undefined) this.#byClient.set(clientId, [gid]);
      else list.push(gid);
      this.#lastInflight.set(link.name, clientId);
      const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
        ?.progressToken;
      if (token !== undefined) this.#progress.set(token, { clientId, link, gid });
    }
    const go = () => {
      if (this.#pending.get(gid) !== p) return; // timed out or cancelled while it waited
      p.sent = true;
      link.post(
        { jsonrpc: "2.0", id: gid, method, params } as Message,
        (e) => this.#settle(gid, made(this.#unavailable(gid, link, e.message))),
        trace,
      );
    };
    if (now || !link.held) go();
    else {
      p.sent = false;
      if (!link.whenReady(go))
        this.#settle(
          gid,
          made(
            this.#unavailable(
              gid,
              link,
              `it is starting after a config reload and ${MAX_WAITING} calls already wait for it`,
            ),
          ),
        );
    }
    return gid;
  }

  /**
   * When call `gid` is cancelled (by the client) or times out, an answer the upstream still
   * sends goes to `late` (a component upstream's host calls are audited from it).
   */
  lateTo(gid: number, late: Late | undefined): void {
    const p = this.#pending.get(gid);
    if (p !== undefined && late !== undefined) p.late = late;
  }

  /**
   * Send a request to an upstream; resolves with its answer, or CANCELLED. `now`: sent even
   * while the link is held (the initialize that readies it).
   */
  call(
    link: UpstreamLink,
    method: string,
    params: unknown,
    clientId?: Id,
    now = false,
  ): Promise<Answer | typeof CANCELLED> {
    return new Promise((resolve) =>
      this.callThen(
        link,
        method,
        params,
        clientId,
        undefined,
        (a) => resolve(a === CANCELLED ? a : a.message),
        now,
      ),
    );
  }

  /** Release a progress token once its request is answered. */
  doneProgress(params: unknown): void {
    const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
      ?.progressToken;
    if (token !== undefined) this.#progress.delete(token);
  }

  /** The client request in flight on `link` that the upstream's log messages belong to. */
  lastInflight(link: UpstreamLink): Id | undefined {
    return this.#lastInflight.get(link.name);
  }

  /**
   * An upstream's answer (`r.message` is a response). Only the upstream a request went to may
   * answer it: gateway ids are one sequence per session, so another upstream could guess them.
   */
  answered(link: UpstreamLink, r: Received): void {
    const m = r.message as Answer;
    if (typeof m.id !== "number") return;
    const p = this.#pending.get(m.id);
    if (p === undefined) {
      this.#lateAnswer(link, m.id, r as UpstreamAnswer);
      return;
    }
    if (p.link !== link) this.#foreign(link, `an answer to request ${m.id}`, p.link);
    else if ("result" in m) {
      const bad = invalidResult(p.method, m.result);
      if (bad === undefined) this.#finish(m.id, p, r as UpstreamAnswer);
      else this.#finish(m.id, p, made(this.#invalid(m.id, link, p.method, bad)));
    } else this.#finish(m.id, p, r as UpstreamAnswer);
  }

  /** An upstream's request to the client (sampling, elicitation, roots/list, ping, ...). */
  serverRequest(link: UpstreamLink, m: Request): void {
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
      this.audit.passed("ping", "upstream", link.name);
      return;
    }
    if (this.#serverReqs.size >= MAX_SERVER_REQUESTS) {
      // past the bound: refused upstream, audited
      const why = `upstream "${link.name}" already has ${MAX_SERVER_REQUESTS} requests to the client unanswered`;
      link.post(serverRequestsFull(m, why));
      this.ctx.log(`${why}; refused its ${m.method}`);
      const r: Refusal = { method: m.method, code: "server_requests_full", reason: why };
      this.audit.refused(r);
      return;
    }
    this.audit.passed(m.method, "upstream", link.name);
    const sid = this.#nextId++;
    this.#serverReqs.set(sid, { link, id: m.id, method: m.method });
    this.#serverRev.set(`${link.name}\0${m.id}`, sid);
    this.down.send({ ...m, id: sid }, this.#lastInflight.get(link.name));
  }

  /**
   * The client answered a server→client request: the request it answers (forgotten now), for
   * the session to send the answer to the upstream that asked, under that upstream's own id.
   */
  clientAnswered(m: Answer): ServerRequest | undefined {
    if (typeof m.id !== "number") return undefined;
    const r = this.#serverReqs.get(m.id);
    if (r === undefined) return undefined;
    this.#serverReqs.delete(m.id);
    this.#serverRev.delete(`${r.link.name}\0${r.id}`);
    return r;
  }

  /** An upstream's progress on a call: to the client, if that upstream serves the call. */
  progress(link: UpstreamLink, n: Notification): void {
    const p = this.#progress.get(n.params?.progressToken);
    if (p !== undefined && p.link === link) this.#pending.get(p.gid)?.timer.refresh();
    if (p === undefined || p.link === link) this.down.send(n, p?.clientId);
    else this.#foreign(link, "progress on a request", p.link);
    this.audit.passed(
      n.method,
      "upstream",
      link.name,
      p === undefined || p.link === link ? "" : FOREIGN,
    );
  }

  /** An upstream cancelled one of its requests to the client: the client hears, by its id. */
  upstreamCancelled(link: UpstreamLink, n: Notification): void {
    const params = n.params ?? {};
    const sid = this.#serverRev.get(`${link.name}\0${String(params.requestId)}`);
    this.audit.passed(n.method, "upstream", link.name, sid === undefined ? UNKNOWN_ID : "");
    if (sid === undefined) return;
    this.down.send({ ...n, params: { ...params, requestId: sid } });
  }

  /** The client cancelled one of its requests: tell the upstream(s), stop waiting. */
  clientCancelled(n: Notification): void {
    const cid = n.params?.requestId as Id | undefined;
    const gids = cid === undefined ? undefined : this.#byClient.get(cid);
    if (gids === undefined) {
      this.audit.passed(n.method, "client", null, UNKNOWN_ID);
      return;
    }
    for (const gid of [...gids]) {
      const p = this.#pending.get(gid);
      if (p === undefined) continue;
      // the cancelled call's own outcome line says `cancelled`; at level all, a line for this too
      this.audit.passed(n.method, "client", p.link.name);
      if (p.sent) p.link.post({ ...n, params: { ...n.params, requestId: gid } } as Message);
      this.#keepLate(gid, p);
      this.#settle(gid, CANCELLED);
    }
  }

  /** `link` went down (or was removed): its calls fail, its requests to the client are forgotten. */
  linkDown(link: UpstreamLink, reason: string): void {
    for (const [gid, p] of this.#pending)
      if (p.link === link) this.#settle(gid, made(this.#unavailable(gid, link, reason)));
    for (const [sid, r] of this.#serverReqs)
      if (r.link === link) {
        this.#serverReqs.delete(sid);
        this.#serverRev.delete(`${link.name}\0${r.id}`);
      }
  }

  /**
   * The session closes: every call still pending ends CANCELLED (audited as cut off); an
   * answer that still comes goes to its `late` (a component upstream's host calls are audited).
   */
  cancelAll(): void {
    for (const [gid, p] of this.#pending) {
      this.#keepLate(gid, p);
      this.#settle(gid, CANCELLED);
    }
  }

  /** No answer in time: cancel the request upstream and answer it with an error. */
  #timeout(gid: number): void {
    const p = this.#pending.get(gid);
    if (p === undefined) return;
    const ms = p.link.cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const why = `did not answer ${p.method} within ${ms} ms (upstreams[].request_timeout_ms in warden.yaml)`;
    this.ctx.log(`upstream "${p.link.name}" ${why}; cancelled`);
    if (p.sent)
      p.link.post({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: gid, reason: `Warden: no answer within ${ms} ms` },
      });
    const e = errorResponse(
      gid,
      UPSTREAM_TIMEOUT,
      `Upstream "${p.link.name}" ${why}; Warden cancelled the request. Retry, or raise the timeout for a slow tool.`,
      { warden: "upstream_timeout", upstream: p.link.name, timeout_ms: ms },
    );
    this.#keepLate(gid, p);
    this.#finish(gid, p, made(e));
  }

  /** A call that ends before its answer: keep where its late answer goes (bounded). */
  #keepLate(gid: number, p: Pending): void {
    if (p.late === undefined) return;
    if (this.#late.size >= MAX_LATE) this.#late.delete(this.#late.keys().next().value!);
    this.#late.set(gid, { link: p.link, late: p.late });
  }

  /** An answer to no pending call: a cancelled or timed-out one's, from the link it went to. */
  #lateAnswer(link: UpstreamLink, gid: number, r: UpstreamAnswer): void {
    const l = this.#late.get(gid);
    if (l === undefined || l.link !== link) return;
    this.#late.delete(gid);
    try {
      l.late(r);
    } catch (e) {
      this.ctx.log(`a late answer of upstream "${link.name}" failed: ${(e as Error).stack}`);
    }
  }

  #settle(gid: number, a: UpstreamAnswer | typeof CANCELLED): void {
    const p = this.#pending.get(gid);
    if (p !== undefined) this.#finish(gid, p, a);
  }

  /** Request `gid` (pending as `p`) is over: forget it and tell its caller. */
  #finish(gid: number, p: Pending, a: UpstreamAnswer | typeof CANCELLED): void {
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
      p.done(a);
    } catch (e) {
      // A bug or a shape no check foresaw costs this request an error, never the process.
      this.ctx.log(
        `request ${p.method} to upstream "${p.link.name}" failed: ${(e as Error).stack}`,
      );
      if (cid !== undefined)
        this.down.send(
          errorResponse(cid, INTERNAL_ERROR, `Warden gateway error: ${(e as Error).message}`),
          cid,
        );
    }
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

  /** An upstream spoke for a request another upstream serves: dropped, and logged. */
  #foreign(link: UpstreamLink, what: string, owner: UpstreamLink): void {
    this.ctx.log(
      `upstream "${link.name}" sent ${what} that went to upstream "${owner.name}"; dropped (only the upstream a request went to may answer it or report its progress)`,
    );
  }
}
