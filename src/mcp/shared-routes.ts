/**
 * The routing of one shared upstream (`upstreams[].sessions: shared`) between it and the client
 * sessions using it: request ids and progress tokens remapped to gateway-unique ones and mapped
 * back, so that no session can receive, cancel or follow another's call; server→client requests
 * to the one session they can be attributed to, or refused and audited; list_changed to every
 * session, resources/updated to the sessions that subscribed (subscriptions counted upstream).
 */
import { type AuditLog, newCallId } from "./audit.js";
import type { MessageLimits } from "./config-types.js";
import {
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  isRequest,
  isResponse,
  type Message,
  type Notification,
  type Request,
} from "./jsonrpc.js";
import { MAX_SERVER_REQUESTS, serverRequestsFull } from "./server-requests.js";
import type { SharedChannel } from "./shared-channel.js";

type Obj = Record<string, unknown>;
export type Answer = Extract<Message, { id: Id | null }> & ({ result: Obj } | { error: unknown });

/** A request in flight upstream: whose it is (a session's, or the gateway's own) and its id. */
type Out =
  | { ch: SharedChannel; id: Id; method: string; token?: unknown; uri?: string }
  | { ch?: undefined; done: (a: Answer) => void };

export interface SharedContext {
  log(line: string): void;
  audit(): AuditLog | undefined;
  readonly version: string;
  readonly limits?: MessageLimits;
}

/** What the routes need of their SharedUpstream. */
export interface RoutesHost {
  readonly name: string;
  readonly kind: "stdio" | "http" | "component";
  readonly ctx: SharedContext;
  /** The sessions connected now. */
  readonly channels: ReadonlySet<SharedChannel>;
  /** Is the upstream up (a message can be sent)? */
  up(): boolean;
  post(m: Message, onFail?: (e: Error) => void): void;
  /** The upstream's initialize result (initialized once per process). */
  initialize(p: Obj): Promise<Obj>;
}

/** A server→client request's id as a map key (ids are strings or numbers). */
const key = (id: unknown) => `${typeof id}:${String(id)}`;

export class SharedRoutes {
  #next = 1;
  readonly #out = new Map<number, Out>();
  /** A component upstream's calls a session cancelled: their late answer still goes to it (bounded). */
  readonly #late = new Map<number, Out>();
  /** Server→client requests in flight, by their id: the session asked, and its id. */
  readonly #serverReqs = new Map<string, { ch: SharedChannel; id: Id }>();
  /** resources/subscribe, counted: the upstream's URI → the sessions subscribed to it. */
  readonly #subs = new Map<string, Set<SharedChannel>>();

  constructor(readonly host: RoutesHost) {}

  /** The gateway's own request (initialize, the last unsubscribe). */
  request(method: string, params: Obj): Promise<Answer> {
    return new Promise((done) => {
      const id = this.#next++;
      this.#out.set(id, { done });
      this.host.post({ jsonrpc: "2.0", id, method, params }, (e) => {
        this.#out.delete(id);
        done(errorResponse(id, INTERNAL_ERROR, e.message) as Answer);
      });
    });
  }

  /** The upstream went down: what was in flight is gone (the gateway's own requests fail). */
  reset(): void {
    const own = [...this.#out.values()];
    this.#out.clear();
    this.#serverReqs.clear();
    this.#subs.clear();
    for (const o of own)
      if (o.ch === undefined) o.done(errorResponse(0, INTERNAL_ERROR, "upstream down") as Answer);
  }

  /** A session's link closed (DELETE, idle, refused): cancel its calls, drop its subscriptions. */
  detach(ch: SharedChannel): void {
    const up = this.host.up();
    for (const hid of ch.out.values()) {
      this.#out.delete(hid);
      if (up)
        this.host.post({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: hid, reason: "Warden: the client session ended" },
        });
    }
    ch.out.clear();
    for (const [k, r] of this.#serverReqs)
      if (r.ch === ch) {
        this.#serverReqs.delete(k);
        if (up) this.host.post(errorResponse(r.id, INTERNAL_ERROR, "The client session ended."));
      }
    for (const uri of ch.subs) this.#unsubscribed(ch, uri, up);
  }

  #unsubscribed(ch: SharedChannel, uri: string, up: boolean): void {
    ch.subs.delete(uri);
    const set = this.#subs.get(uri);
    if (set === undefined || !set.delete(ch) || set.size > 0) return;
    this.#subs.delete(uri);
    if (up) void this.request("resources/unsubscribe", { uri });
  }

  fromSession(ch: SharedChannel, m: Message, onFail: (e: Error) => void) {
    if (isRequest(m)) return this.#sessionRequest(ch, m, onFail);
    if (isResponse(m)) {
      // an answer to a server→client request: only from the session it was sent to
      const k = key(m.id);
      if (this.#serverReqs.get(k)?.ch !== ch) return;
      this.#serverReqs.delete(k);
      return this.host.post(m, onFail);
    }
    const n = m as Notification;
    if (n.method === "notifications/cancelled") {
      // the session cancels one of its own calls: by its own id, never another session's
      const hid = ch.out.get(n.params?.requestId as Id);
      if (hid === undefined) return;
      ch.out.delete(n.params!.requestId as Id);
      const o = this.#out.get(hid);
      this.#out.delete(hid);
      // its answer still comes (src/hosted does not drop it): the session audits its host calls
      if (this.host.kind === "component" && o !== undefined) {
        if (this.#late.size >= 1024) this.#late.delete(this.#late.keys().next().value!);
        this.#late.set(hid, o);
      }
      return this.host.post({ ...n, params: { ...n.params, requestId: hid } }, onFail);
    }
    // notifications/initialized: the gateway sent its own once; roots/list_changed: roots are
    // not asked of sessions; progress and others: not tied to one session's upstream state
  }

  #sessionRequest(ch: SharedChannel, m: Request, onFail: (e: Error) => void) {
    const p = (m.params ?? {}) as Obj;
    switch (m.method) {
      case "initialize":
        this.host.initialize(p).then(
          (result) => ch.deliver({ jsonrpc: "2.0", id: m.id, result }),
          (e: Error) =>
            ch.deliver(
              errorResponse(
                m.id,
                INTERNAL_ERROR,
                `Shared upstream "${this.host.name}": ${e.message}`,
              ),
            ),
        );
        return;
      case "logging/setLevel":
        // one level for every session: the upstream keeps its own (docs/gateway.md)
        return ch.deliverSoon({ jsonrpc: "2.0", id: m.id, result: {} });
      case "resources/subscribe": {
        const uri = String(p.uri);
        const set = this.#subs.get(uri);
        if (set !== undefined && set.size > 0) {
          set.add(ch);
          ch.subs.add(uri);
          return ch.deliverSoon({ jsonrpc: "2.0", id: m.id, result: {} });
        }
        return this.#forward(ch, m, p, onFail, uri);
      }
      case "resources/unsubscribe": {
        const uri = String(p.uri);
        const set = this.#subs.get(uri);
        // a URI this session is not subscribed to: nothing of its own to release
        if (set === undefined || !set.has(ch))
          return ch.deliverSoon({ jsonrpc: "2.0", id: m.id, result: {} });
        set.delete(ch);
        ch.subs.delete(uri);
        if (set.size > 0) return ch.deliverSoon({ jsonrpc: "2.0", id: m.id, result: {} });
        // the last subscriber: the upstream stops sending updates
        this.#subs.delete(uri);
        return this.#forward(ch, m, p, onFail);
      }
    }
    this.#forward(ch, m, p, onFail);
  }

  /** A session's request upstream, with a gateway-unique id and progress token. */
  #forward(
    ch: SharedChannel,
    m: Request,
    p: Obj,
    onFail: (e: Error) => void,
    subscribe?: string,
  ): void {
    const hid = this.#next++;
    const o: Out = { ch, id: m.id, method: m.method };
    if (subscribe !== undefined) o.uri = subscribe;
    let params = m.params;
    const meta = p._meta as Obj | undefined;
    if (meta?.progressToken !== undefined) {
      o.token = meta.progressToken;
      params = { ...p, _meta: { ...meta, progressToken: hid } };
    }
    this.#out.set(hid, o);
    ch.out.set(m.id, hid);
    this.host.post({ ...m, id: hid, params } as Message, (e) => {
      this.#out.delete(hid);
      ch.out.delete(m.id);
      onFail(e);
    });
  }

  fromUpstream(m: Message, related: unknown): void {
    try {
      this.#route(m, related);
    } catch (e) {
      this.host.ctx.log(
        `shared upstream "${this.host.name}" sent a message the gateway could not handle; dropped: ${(e as Error).stack}`,
      );
    }
  }

  #route(m: Message, related: unknown) {
    if (isResponse(m)) {
      if (typeof m.id !== "number") return;
      const late = this.#late.get(m.id);
      if (late?.ch !== undefined) {
        this.#late.delete(m.id);
        return late.ch.deliver({ ...m, id: late.id } as Message);
      }
      const o = this.#out.get(m.id);
      if (o === undefined) return;
      this.#out.delete(m.id);
      if (o.ch === undefined) return o.done(m as Answer);
      o.ch.out.delete(o.id);
      if (o.uri !== undefined && "result" in m) {
        const set = this.#subs.get(o.uri) ?? new Set();
        set.add(o.ch);
        this.#subs.set(o.uri, set);
        o.ch.subs.add(o.uri);
      }
      return o.ch.deliver({ ...m, id: o.id } as Message);
    }
    if (isRequest(m)) return this.#serverRequest(m, related);
    const n = m as Notification;
    const params = (n.params ?? {}) as Obj;
    switch (n.method) {
      case "notifications/progress": {
        const o =
          typeof params.progressToken === "number"
            ? this.#out.get(params.progressToken)
            : undefined;
        if (o?.ch === undefined || o.token === undefined) return;
        return o.ch.deliver({ ...n, params: { ...params, progressToken: o.token } });
      }
      case "notifications/cancelled": {
        const r = this.#serverReqs.get(key(params.requestId));
        if (r === undefined) return;
        this.#serverReqs.delete(key(params.requestId));
        return r.ch.deliver(n);
      }
      case "notifications/tools/list_changed":
      case "notifications/prompts/list_changed":
      case "notifications/resources/list_changed":
        for (const ch of this.host.channels) ch.deliver(n);
        return;
      case "notifications/resources/updated":
        for (const ch of this.#subs.get(String(params.uri)) ?? []) ch.deliver(n);
        return;
      default:
        // logging and the rest: to the session it belongs to, or to none
        this.#owner(related)?.deliver(n);
    }
  }

  /**
   * The session a server→client message belongs to: over Streamable HTTP, the one whose call's
   * SSE stream carried it; over stdio, the only session with calls in flight. Undefined when
   * it cannot be told: then no session gets it.
   */
  #owner(related: unknown): SharedChannel | undefined {
    if (this.host.kind === "http") {
      const o = typeof related === "number" ? this.#out.get(related) : undefined;
      return o?.ch;
    }
    let only: SharedChannel | undefined;
    for (const ch of this.host.channels)
      if (ch.out.size > 0) {
        if (only !== undefined) return undefined;
        only = ch;
      }
    return only;
  }

  #serverRequest(m: Request, related: unknown) {
    if (typeof m.id === "number" && !Number.isSafeInteger(m.id)) {
      this.host.post(errorResponse(m.id, INTERNAL_ERROR, "Invalid Request: use a string id."));
      return;
    }
    if (m.method === "ping") {
      this.host.post({ jsonrpc: "2.0", id: m.id, result: {} });
      return;
    }
    if (m.method === "roots/list") {
      // one process for every session: no session's roots are given to it (see above)
      this.host.post({ jsonrpc: "2.0", id: m.id, result: { roots: [] } });
      return this.#refusedAudit(m.method, "a shared upstream gets no client's roots (empty list)");
    }
    if (this.#serverReqs.size >= MAX_SERVER_REQUESTS) {
      const why = `shared upstream "${this.host.name}" already has ${MAX_SERVER_REQUESTS} requests to clients unanswered`;
      this.host.post(serverRequestsFull(m, why));
      this.host.ctx.log(`${why}; refused its ${m.method}`);
      return this.#refusedAudit(m.method, why);
    }
    const ch = this.#owner(related);
    if (ch === undefined) {
      const why = `the shared upstream's ${m.method} request cannot be attributed to one client session`;
      this.host.post(
        errorResponse(
          m.id,
          INTERNAL_ERROR,
          `Warden: ${why}, so no session was asked. Send it while handling that session's request (over Streamable HTTP, on that request's stream).`,
        ),
      );
      this.host.ctx.log(`shared upstream "${this.host.name}": ${why}; refused`);
      return this.#refusedAudit(m.method, why);
    }
    this.#serverReqs.set(key(m.id), { ch, id: m.id });
    ch.deliver(m);
  }

  #refusedAudit(method: string, reason: string): void {
    this.host.ctx.audit()?.write({
      time: new Date().toISOString(),
      call_id: newCallId(),
      phase: "decision",
      caller: null,
      session: null,
      upstream: this.host.name,
      method,
      decision: "deny",
      reason,
      duration_ms: 0,
    });
  }
}
