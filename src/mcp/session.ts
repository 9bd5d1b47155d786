/**
 * One downstream session: the parts it is composed of (session-core.ts, `SessionParts`) and the
 * routing of messages between them. From the client: initialize and the lifecycle
 * (session-connect.ts), judged forwards (session-forward.ts), lists (session-lists.ts), tasks
 * (session-tasks.ts), answers to the upstreams' requests (roots/list judged: session-answers.ts),
 * cancellation; from the upstreams: answers, requests and notifications, through the session's
 * Calls (session-calls.ts). docs/internals/gateway-flow.md follows a tools/call through them.
 */
import { randomUUID } from "node:crypto";
import { methodOf, type Refusal, refusal, refusalEntry } from "./audit.js";
import type { RestartConfig, UpstreamConfig } from "./config-types.js";
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  isRequest,
  isResponse,
  type Message,
  type Notification,
  type Request,
} from "./jsonrpc.js";
import { judgeRoots } from "./session-answers.js";
import { SessionAudit } from "./session-audit.js";
import { Calls } from "./session-calls.js";
import { Connection } from "./session-connect.js";
import type {
  Answer,
  Downstream,
  GatewayContext,
  SessionIdentity,
  SessionParts,
} from "./session-core.js";
import { Forwarding } from "./session-forward.js";
import { SessionJudges } from "./session-judges.js";
import { SessionLinks } from "./session-links.js";
import { handleList, LIST_METHODS } from "./session-lists.js";
import { refuseRequest, withoutId } from "./session-refusals.js";
import { TASK_METHODS, TaskRoutes } from "./session-tasks.js";
import { invalidParams } from "./shapes.js";
import type { UpstreamLink } from "./upstream-link.js";
import type { Received } from "./upstream-transport.js";

type Obj = Record<string, unknown>;
const NO_URI = 'dropped: "params.uri" is not a string';
/** Client answers and notifications held behind judgements in flight, at most (see #hold). */
export const MAX_HELD = 1024;

export class GatewaySession implements SessionIdentity {
  readonly id: string;
  client = "unknown";
  caller: string;
  closed = false;
  readonly #ctx: GatewayContext;
  readonly #s: SessionParts;
  readonly #connection: Connection;
  readonly #tasks: TaskRoutes;
  readonly #forwarding: Forwarding;
  /** Client answers and notifications held behind judgements in flight (see #hold). */
  #held = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: GatewayContext, down: Downstream) {
    this.id = down.sessionId ?? randomUUID();
    this.caller = down.caller;
    this.#ctx = ctx;
    const audit = new SessionAudit(ctx, this, down);
    const links = new SessionLinks(
      ctx,
      {
        message: (link, r) => this.#fromUpstream(link, r),
        down: (link, reason) => this.#s.calls.linkDown(link, reason),
        restarted: (link) => this.#connection.restarted(link),
      },
      down,
    );
    this.#s = {
      ctx,
      down,
      who: this,
      links,
      calls: new Calls(ctx, down, audit),
      audit,
      judges: new SessionJudges(ctx, this, down),
    };
    this.#connection = new Connection(this.#s);
    this.#tasks = new TaskRoutes(this.#s);
    this.#forwarding = new Forwarding(this.#s, this.#tasks);
  }

  /** Where the session is in the MCP lifecycle (only `ready` sessions serve requests). */
  get lifecycle() {
    return this.#connection.lifecycle;
  }

  /** Handle one message from the client. */
  receive(m: Message): void {
    if (this.closed) return;
    const tracing = this.#ctx.tracing;
    if (tracing === undefined) this.#guarded(m);
    else tracing.receive(m, () => this.#guarded(m));
  }

  /** Handle `m`; returns the handling's promise when it goes on (telemetry's scope ends then). */
  #guarded(m: Message): Promise<unknown> | undefined {
    try {
      return this.#receive(m);
    } catch (e) {
      // Every handler is guarded: a message nothing foresaw costs its sender, not the process.
      this.#ctx.log(`a client message could not be handled; dropped: ${(e as Error).stack}`);
      return undefined;
    }
  }

  /** A message of this session refused at its front: its decision line. */
  refused(r: Refusal): void {
    this.#s.audit.refused(r);
  }

  /** The upstream links of this session (name, state, child pid, restarts), for status and tests. */
  upstreams(): { name: string; state: string; pid: number | null; restarts: number }[] {
    return this.#s.links.upstreams();
  }

  /** A config reload changed the upstreams: start the new ones, drop the old, tell the client. */
  applyUpstreams(cfgs: readonly UpstreamConfig[], restart: RestartConfig): Promise<void> {
    return this.#connection.applyUpstreams(cfgs, restart);
  }

  /** After a policy reload: visibility may have changed, ask the client to list again. */
  listsChanged(): void {
    this.#connection.listsChanged();
  }

  /** Close every upstream link (children are stopped) and cut off what is pending. */
  #closing: Promise<void> | undefined;
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.closed = true;
      this.#s.calls.cancelAll();
      await this.#s.links.close();
    })();
    return this.#closing;
  }

  #receive(m: Message): Promise<unknown> | undefined {
    const s = this.#s;
    if (isRequest(m)) {
      const fail = (e: Error) =>
        s.down.send(
          errorResponse(m.id, INTERNAL_ERROR, `Warden gateway error: ${e.message}`),
          m.id,
        );
      const refused = refuseRequest(m, this.#connection.lifecycle);
      if (refused !== undefined) {
        s.audit.refuse(refused, m.method);
        return;
      }
      try {
        return this.#request(m)?.catch(fail);
      } catch (e) {
        fail(e as Error);
      }
    } else if (this.#held === 0 && s.judges.idle) this.#answerOrNotification(m);
    else return this.#hold(m);
    return undefined;
  }

  /**
   * A client's answer or notification that arrived while judgements were in flight (an
   * asynchronous judge): handled once the judgements that began before it are decided, and
   * after the messages held before it, so that a cancel never overtakes the judgement of the
   * request it cancels and notifications keep their order. Requests are not held.
   */
  #hold(m: Message): Promise<unknown> | undefined {
    if (this.#held >= MAX_HELD) {
      // bounded: a client cannot grow the session's memory while a judge is slow
      const why = `${MAX_HELD} client messages already wait for judgements in flight`;
      this.#ctx.log(`session ${this.id}: ${why}; dropped a ${methodOf(m)} message`);
      this.#s.audit.refused(refusal(methodOf(m), "held_full", why));
      return undefined;
    }
    const before = this.#s.judges.inflight();
    this.#held++;
    this.#queue = this.#queue
      .then(() => Promise.allSettled(before))
      .then(() => {
        this.#held--;
        if (this.closed) return;
        try {
          this.#answerOrNotification(m);
        } catch (e) {
          this.#ctx.log(`a client message could not be handled; dropped: ${(e as Error).stack}`);
        }
      });
    return this.#queue;
  }

  #answerOrNotification(m: Message): void {
    if (!isResponse(m)) {
      this.#notification(m as Notification);
      return;
    }
    // the client's answer to an upstream's request: to the upstream that asked, by its id
    const s = this.#s;
    const r = s.calls.clientAnswered(m as Answer);
    if (r === undefined) return;
    if (r.method !== "roots/list") {
      s.audit.passed(r.method, "client", r.link.name);
      r.link.post({ ...m, id: r.id } as Message);
      return;
    }
    // roots/list answers are judged (their decision line is written there)
    const out = judgeRoots(s, r.link, m as Answer);
    if (!(out instanceof Promise)) {
      r.link.post({ ...out, id: r.id } as Message);
      return;
    }
    out.then(
      (o) => r.link.post({ ...o, id: r.id } as Message),
      (e: Error) => this.#ctx.log(`the client's roots/list answer was dropped: ${e.stack}`),
    );
  }

  #notification(n: Notification) {
    if (!n.method.startsWith("notifications/")) return this.#requestWithoutId(n);
    if (n.method === "notifications/cancelled") return this.#s.calls.clientCancelled(n);
    if (n.method === "notifications/initialized") this.#connection.clientInitialized = true;
    this.#s.audit.passed(n.method, "client", null);
    this.#s.links.broadcast(n);
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
    this.#s.audit.write({ ...refusalEntry(r), ...this.#s.audit.args(p) });
    this.#ctx.log(`session ${this.id}: ${reason}`);
  }

  /** Route one client request; the hot paths (tools/call, ...) return nothing, others a Promise. */
  #request(req: Request): Promise<void> | undefined {
    const s = this.#s;
    const p = (req.params ?? {}) as Obj;
    const bad = invalidParams(req.method, p);
    if (bad !== undefined) {
      s.audit.refuse(
        errorResponse(req.id, INVALID_PARAMS, `Invalid params for ${req.method}: ${bad}.`, {
          warden: "message_invalid",
        }),
        req.method,
      );
      return;
    }
    const naming = s.links.naming;
    const fw = this.#forwarding;
    switch (req.method) {
      case "initialize":
        return this.#connection.initialize(req, p);
      case "ping":
        s.audit.passed("ping", "client", null);
        s.down.send({ jsonrpc: "2.0", id: req.id, result: {} }, req.id);
        return;
      case "tools/call": {
        const name = String(p.name);
        return fw.routed(req, p, "tool_invoke", name, naming.route(name), "name", "tool");
      }
      case "prompts/get": {
        const name = String(p.name);
        return fw.routed(req, p, "request", name, naming.route(name), "name", "prompt");
      }
      case "resources/read":
      case "resources/subscribe": {
        const uri = String(p.uri);
        return fw.routed(req, p, "request", uri, naming.routeUri(uri), "uri", "resource");
      }
      case "resources/unsubscribe":
        return fw.unsubscribe(req, p);
      case "completion/complete":
        return fw.complete(req, p);
      case "logging/setLevel":
        return fw.setLevel(req, p);
      default:
        if (LIST_METHODS.has(req.method)) return handleList(s, req, p);
        if (TASK_METHODS.has(req.method)) return this.#tasks.handle(req, p);
        return fw.unknown(req, p);
    }
  }

  /** A message from an upstream: answers and requests to the Calls, notifications to the client. */
  #fromUpstream(link: UpstreamLink, r: Received): void {
    if (this.closed) {
      // the late answer of a call cut off by the close (its host calls are audited), and a
      // component task's end (its host calls), no more
      if (isResponse(r.message)) this.#s.calls.answered(link, r);
      else if ((r.message as Notification).method === "notifications/tasks/status")
        this.#tasks.statusFrom(link, ((r.message as Notification).params ?? {}) as Obj);
      return;
    }
    try {
      this.#upstreamMessage(link, r);
    } catch (e) {
      this.#ctx.log(
        `upstream "${link.name}" sent a message the gateway could not handle; dropped: ${(e as Error).stack}`,
      );
    }
  }

  #upstreamMessage(link: UpstreamLink, r: Received) {
    const { calls, audit, down } = this.#s;
    const m = r.message;
    if (isResponse(m)) return calls.answered(link, r);
    if (isRequest(m)) return calls.serverRequest(link, m);
    const n = m as Notification;
    const params = n.params ?? {};
    switch (n.method) {
      case "notifications/progress":
        return calls.progress(link, n);
      case "notifications/cancelled":
        return calls.upstreamCancelled(link, n);
      case "notifications/resources/updated": {
        const ok = typeof params.uri === "string";
        audit.passed(n.method, "upstream", link.name, ok ? "" : NO_URI);
        if (ok) {
          const uri = this.#s.links.naming.publicUri(link.name, params.uri as string);
          down.send({ ...n, params: { ...params, uri } });
        }
        return;
      }
      case "notifications/tasks/status":
        // a component task's host calls are audited and taken out first
        this.#tasks.statusFrom(link, params as Obj);
        audit.passed(n.method, "upstream", link.name);
        down.send(n);
        return;
      case "notifications/message":
        audit.passed(n.method, "upstream", link.name);
        down.send(n, calls.lastInflight(link));
        return;
      default:
        audit.passed(n.method, "upstream", link.name);
        down.send(n);
    }
  }
}
