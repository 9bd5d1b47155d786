/**
 * The gateway's Streamable HTTP front, on node:http with its limits set (http-server.ts):
 * POST (JSON or SSE answers), GET (the
 * standalone SSE stream), DELETE (end a session), Mcp-Session-Id, MCP-Protocol-Version,
 * Host/Origin checks against DNS rebinding, named bearer tokens (the caller), bounded sessions
 * (in all and per caller: 503 with Retry-After past them) and idle collection.
 * It skips the SDK's web Request/Response conversion (see docs/gateway.md, "HTTP front").
 * The Host, Origin and token checks run on the head, before any body is read.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WardenError } from "../core/errors.js";
import type { RedisReport } from "../state/redis.js";
import { methodOf, NO_METHOD, type Refusal } from "./audit.js";
import { HTTP_LIMITS, type HttpListenConfig, MESSAGE_LIMITS } from "./config-types.js";
import { GET_STREAM } from "./event-store.js";
import { FrontChecks, type FrontToken, fail } from "./http-checks.js";
import type { SessionForwarder } from "./http-forward.js";
import { HEALTH_PATH, type HealthSource, READY_PATH, serveHealth } from "./http-health.js";
import { type FrontOAuth, principalOf } from "./http-oauth.js";
import { createFrontServer, readBody } from "./http-server.js";
import { HttpDownstream, PostStream } from "./http-session.js";
import { MAX_SLOT_WAITERS, type ProcessCap, SlotQueue } from "./http-slots.js";
import {
  type Id,
  INVALID_REQUEST,
  invalidMessage,
  MAX_DEPTH,
  type Message,
  PARSE_ERROR,
} from "./jsonrpc.js";
import type { Downstream } from "./session-core.js";

export const SUPPORTED_VERSIONS = new Set([
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
]);
/** A POST unanswered this long gets a priming event (clients of protocol 2025-11-25 on). */
export const PRIME_AFTER_MS = 1000;
/** Retry-After (seconds) of a 503 when the sessions are at their limit. */
const RETRY_AFTER_S = 5;
/** Requests of one session awaiting their answers at most; past it 429 (requests_full). */
export const MAX_REQUESTS_IN_FLIGHT = 1024;
/** The SSE retry (ms) a priming event asks for. */
const RETRY_MS = 1000;

export interface FrontSession {
  receive(m: Message): void;
  /** A message of this session refused at the front: its audit line. */
  refused?(r: Refusal): void;
  close(): Promise<void>;
}

type Entry = { down: HttpDownstream; session: FrontSession };

export class HttpFront {
  readonly sessions = new Map<string, Entry>();
  readonly server: Server;
  readonly #maxBody: number;
  #checks: FrontChecks;
  /** listen.http.json_response: complete answers as JSON even when SSE is accepted. */
  #json: boolean;
  #sweep: NodeJS.Timeout | undefined;
  #primer: NodeJS.Timeout | undefined;
  /** A POST still unanswered after this long becomes a primed SSE stream (SEP-1699). */
  primeAfterMs = PRIME_AFTER_MS;
  /** Open sessions at most, in all and per caller (max_sessions, max_sessions_per_token). */
  maxSessions: number;
  maxPerCaller: number;
  /** Open sessions per caller. */
  readonly #perCaller = new Map<string, number>();
  /**
   * The smallest upstreams[].max_processes of the per-session command upstreams (one process
   * per session each), whose it is, and how long a new session waits for a slot (http-slots.ts).
   */
  procs: ProcessCap | undefined;
  readonly #slots = new SlotQueue();
  /** limits.client_queue_bytes: unread bytes towards one client past which it is dropped. */
  queueLimit = MESSAGE_LIMITS.clientQueueBytes;
  /** limits.json_depth: how deep a client's message may nest. */
  jsonDepth = MAX_DEPTH;
  /** Where the front reports the clients it dropped (the gateway's log). */
  log: (line: string) => void = () => {};
  /** telemetry.otlp: runs a request's handling with the client's W3C trace context, if any. */
  withTrace: ((headers: IncomingHttpHeaders, fn: () => void) => void) | undefined;
  /** A message refused at the front that names no session of its caller: its audit line. */
  onrefused: (r: Refusal, caller: string) => void = () => {};
  /** Extra GET routes (e.g. metrics), by path. */
  readonly routes = new Map<string, (res: ServerResponse) => void>();
  /** What /healthz and /readyz read (the gateway's views); without it they are 404. */
  health: HealthSource | undefined;
  /** state.redis: the connection /readyz reports (degraded while it is not ready). */
  stateHealth: (() => RedisReport) | undefined;
  /** state.redis: sessions of other instances are forwarded to them (http-forward.ts). */
  forwarder: SessionForwarder | undefined;

  constructor(
    readonly cfg: HttpListenConfig,
    readonly createSession: (down: Downstream) => FrontSession,
    /** The tokens of the `auth` section (a string: one token named "default"). */
    tokens: readonly FrontToken[] | string | undefined,
    /** auth.oauth: access tokens checked as a resource server (http-oauth.ts); see setAuth. */
    public oauth?: FrontOAuth,
  ) {
    const list = typeof tokens === "string" ? [{ name: "default", secret: tokens }] : tokens;
    this.#checks = new FrontChecks(cfg, list ?? [], oauth?.challenge);
    this.maxSessions = cfg.limits?.sessions ?? HTTP_LIMITS.sessions;
    this.maxPerCaller = cfg.limits?.sessionsPerCaller ?? HTTP_LIMITS.sessionsPerCaller;
    this.#json = cfg.jsonResponse === true;
    this.#maxBody = cfg.limits?.bodyBytes ?? HTTP_LIMITS.bodyBytes;
    this.server = createFrontServer(
      cfg,
      (req, res) => this.#handle(req, res),
      (line) => this.log(line),
    );
  }

  async listen(): Promise<AddressInfo> {
    const addr = await new Promise<AddressInfo>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.cfg.port, this.cfg.host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    }).catch((e: Error) => {
      throw new WardenError(
        "listen_failed",
        `Cannot listen on ${this.cfg.host}:${this.cfg.port}: ${e.message}. Choose another listen.http.port or stop what uses it.`,
        { category: "config", cause: e },
      );
    });
    const period = Math.max(50, Math.min(this.cfg.sessionIdleMs / 4, 60_000));
    this.#sweep = setInterval(() => this.collectIdle(), period);
    this.#sweep.unref();
    this.#primer = setInterval(() => this.primeWaiting(), Math.max(10, this.primeAfterMs / 2));
    this.#primer.unref();
    return addr;
  }

  /** Prime the POSTs waiting longer than primeAfterMs (their clients can then resume them). */
  primeWaiting(now = Date.now()): void {
    for (const e of this.sessions.values())
      for (const s of e.down.byRequest.values())
        if (s.stream === 0 && s.primable && now - s.since >= this.primeAfterMs) s.prime(RETRY_MS);
  }

  /** Close sessions idle longer than listen.http.session_idle_seconds. */
  collectIdle(now = Date.now()): number {
    let n = 0;
    for (const [id, e] of this.sessions) {
      const busy =
        (e.down.getStream !== undefined && !e.down.getStream.destroyed) ||
        [...e.down.byRequest.values()].some((s) => s.attached);
      if (!busy && now - e.down.lastActive > this.cfg.sessionIdleMs) {
        this.#end(id, e);
        n++;
      }
    }
    return n;
  }

  /** Sessions waiting for a process slot now (for tests and status). */
  get waiting(): number {
    return this.#slots.length;
  }

  #end(id: string, e: Entry): void {
    if (!this.sessions.delete(id)) return;
    this.forwarder?.ended(id);
    this.#slots.wakeOne();
    const n = (this.#perCaller.get(e.down.caller) ?? 1) - 1;
    if (n > 0) this.#perCaller.set(e.down.caller, n);
    else this.#perCaller.delete(e.down.caller);
    e.down.closeStreams();
    e.session.close().catch(() => {});
  }

  #handle(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    if (url !== this.cfg.path) {
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      if (path === this.cfg.path) return this.#authed(req, res, (c) => this.#mcp(req, res, c));
      if (this.health !== undefined && (path === HEALTH_PATH || path === READY_PATH))
        return serveHealth(
          req,
          res,
          path,
          this.health,
          () => this.#detailed(req),
          () => ({ ...this.#authHealth(), ...this.#stateHealth() }),
          () => this.stateHealth !== undefined && this.stateHealth().status !== "ready",
        );
      if (this.oauth?.serveMetadata(req, res, path)) return;
      const route = req.method === "GET" ? this.routes.get(path) : undefined;
      if (route) return this.#authed(req, res, () => route(res));
      fail(res, 404, `Not found: the MCP endpoint is ${this.cfg.path}.`);
      return;
    }
    this.#authed(req, res, (c) => this.#mcp(req, res, c));
  }

  /** Host, Origin and the bearer token (a static one, or an OAuth access token): then `then`. */
  #authed(req: IncomingMessage, res: ServerResponse, then: (caller: string) => void): void {
    const v = this.#checks.check(req, res);
    if (v === undefined) return;
    if (typeof v === "string") {
      then(v);
      return;
    }
    // a Bearer only comes back with auth.oauth; a reload meanwhile: checked again by the new auth
    const o = this.oauth;
    o?.authenticate(req, res, v.bearer, (c) =>
      o === this.oauth ? then(c) : this.#authed(req, res, then),
    );
  }

  /** May `req` hear /readyz's details? It passes the front's checks (a valid access token too). */
  #detailed(req: IncomingMessage): boolean | Promise<boolean> {
    if (this.#checks.passes(req)) return true;
    const bearer = this.oauth === undefined ? undefined : this.#checks.bearerOf(req);
    return bearer === undefined ? false : (this.oauth as FrontOAuth).vouches(bearer);
  }

  /** /readyz's details of state.redis: the connection's status (degraded while not ready). */
  #stateHealth(): Record<string, unknown> {
    return this.stateHealth === undefined ? {} : { state: { redis: this.stateHealth() } };
  }

  /** /readyz's details of auth.oauth: the state of the issuer's keys (no URL, no secret). */
  #authHealth(): Record<string, unknown> {
    if (this.oauth === undefined) return {};
    return { auth: { oauth: this.oauth.health() } };
  }

  /**
   * A reload's new `auth` (gateway-auth.ts): the static tokens and the OAuth front from the
   * next request on; the open sessions `keep` refuses are ended. Returns how many were.
   */
  setAuth(
    tokens: readonly FrontToken[],
    oauth: FrontOAuth | undefined,
    keep: (caller: string, viaOAuth: boolean) => boolean,
  ): number {
    this.#checks = new FrontChecks(this.cfg, tokens, oauth?.challenge);
    this.oauth = oauth;
    let n = 0;
    for (const [id, e] of [...this.sessions])
      if (!keep(e.down.caller, e.down.principal !== undefined)) {
        this.#end(id, e);
        n++;
      }
    return n;
  }

  #mcp(req: IncomingMessage, res: ServerResponse, caller: string) {
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing
    if (req.httpVersionMinor === 0 && req.headers["transfer-encoding"] !== undefined) {
      res.shouldKeepAlive = false;
      return fail(res, 400, "Bad Request: Transfer-Encoding is not allowed in HTTP/1.0.");
    }
    const v = req.headers["mcp-protocol-version"];
    if (typeof v === "string" && !SUPPORTED_VERSIONS.has(v))
      return fail(
        res,
        400,
        `Bad Request: unsupported MCP-Protocol-Version "${v}" (supported: ${[...SUPPORTED_VERSIONS].join(", ")}).`,
      );
    const sid = req.headers["mcp-session-id"];
    if (
      this.forwarder !== undefined &&
      typeof sid === "string" &&
      !this.sessions.has(sid) &&
      (req.method === "POST" || req.method === "GET" || req.method === "DELETE")
    )
      return this.forwarder.handle(req, res, sid, caller);
    if (req.method === "POST") return this.#post(req, res, caller);
    if (req.method === "GET") return this.#get(req, res, caller);
    if (req.method === "DELETE") return this.#delete(req, res, caller);
    fail(res, 405, "Method not allowed: use POST, GET or DELETE.", INVALID_REQUEST, {
      allow: "GET, POST, DELETE",
    });
  }

  /** The session `req` names, if it is one of `caller`'s (another token does not find it). */
  #named(req: IncomingMessage, caller: string): Entry | undefined {
    const id = req.headers["mcp-session-id"];
    const e = typeof id === "string" ? this.sessions.get(id) : undefined;
    return e !== undefined && e.down.caller === caller ? e : undefined;
  }

  /**
   * The session `req` names, or undefined after answering 400 (no Mcp-Session-Id) or 404; a
   * refused POST (`method` given) gets its audit line.
   */
  #session(
    req: IncomingMessage,
    res: ServerResponse,
    caller: string,
    method?: string,
  ): Entry | undefined {
    const e = this.#named(req, caller);
    if (e !== undefined) return e;
    const none = typeof req.headers["mcp-session-id"] !== "string";
    const reason = none
      ? "Bad Request: Mcp-Session-Id header is required (initialize first)."
      : "Session not found: it ended or was collected as idle; initialize again.";
    const data = { warden: none ? "not_initialized" : "session_unknown" } as const;
    if (method !== undefined) this.onrefused({ method, code: data.warden, reason }, caller);
    fail(res, none ? 400 : 404, reason, none ? INVALID_REQUEST : -32001, {}, data);
    return undefined;
  }

  /** Report a refused POST: to the session it names (its audit line), else to the gateway. */
  #refused(req: IncomingMessage, caller: string, r: Refusal): void {
    const e = this.#named(req, caller);
    if (e !== undefined) e.session.refused?.(r);
    else this.onrefused(r, caller);
  }

  /**
   * Is there room for one more session of `caller`? Idle sessions are collected first; past
   * the limits, 503 with Retry-After (the client may try again after the idle timeout, or
   * end a session with DELETE). Past only an upstream's max_processes, the session first waits
   * up to its max_processes_wait_ms for a slot (`wait`).
   */
  #room(res: ServerResponse, caller: string): "yes" | "no" | "wait" {
    const full = () =>
      this.sessions.size >= this.maxSessions ||
      (this.#perCaller.get(caller) ?? 0) >= this.maxPerCaller;
    const procs = this.procs;
    const noProcess = () => procs !== undefined && this.sessions.size >= procs.max;
    if (!full() && !noProcess()) return "yes";
    this.collectIdle();
    if (!full() && !noProcess()) return "yes";
    if (!full() && procs !== undefined && procs.waitMs > 0 && !this.#slots.full) return "wait";
    this.#full(res, caller);
    return "no";
  }

  #full(res: ServerResponse, caller: string): void {
    const all = this.sessions.size >= this.maxSessions;
    const procs = this.procs;
    let why: string;
    if (all)
      why = `the gateway has ${this.maxSessions} sessions open, its limit (listen.http.max_sessions). End one with DELETE, or retry later.`;
    else if ((this.#perCaller.get(caller) ?? 0) >= this.maxPerCaller)
      why = `caller "${caller}" has ${this.maxPerCaller} sessions open, its limit (listen.http.max_sessions_per_token). End one with DELETE, or retry later.`;
    else
      why = `upstream "${procs?.upstream}" runs one process per session and has ${procs?.max}, its limit (upstreams[].max_processes; no slot freed within max_processes_wait_ms ${procs?.waitMs} ms, or ${MAX_SLOT_WAITERS} sessions were already waiting). End a session with DELETE, retry later, or set sessions: shared.`;
    fail(res, 503, `Service Unavailable: ${why}`, INVALID_REQUEST, {
      "retry-after": String(RETRY_AFTER_S),
    });
  }

  /**
   * Past only an upstream's max_processes: wait up to its max_processes_wait_ms for a session to
   * end, then open the new session (`then`) or answer 503; a client that leaves gives up its place.
   */
  #waitSlot(res: ServerResponse, caller: string, then: () => void): void {
    const deadline = Date.now() + (this.procs?.waitMs ?? 0);
    const attempt = () => {
      if (res.destroyed) return this.#slots.wakeOne();
      const room = this.#room(res, caller);
      if (room === "yes") return then();
      if (room === "no") return;
      const left = deadline - Date.now();
      if (left <= 0) return this.#full(res, caller);
      this.#slots.wait(res, left, attempt, () => this.#full(res, caller));
    };
    attempt();
  }

  #get(req: IncomingMessage, res: ServerResponse, caller: string) {
    if (!(req.headers.accept ?? "").includes("text/event-stream"))
      return fail(res, 406, "Not Acceptable: a GET needs Accept: text/event-stream.");
    const e = this.#session(req, res, caller);
    if (e === undefined) return;
    e.down.lastActive = Date.now();
    const last = req.headers["last-event-id"];
    if (typeof last === "string" && last !== "") return this.#resume(e.down, last, res);
    if (e.down.getStream !== undefined && !e.down.getStream.destroyed)
      return fail(res, 409, "Conflict: this session already has a GET stream open.");
    res.writeHead(200, e.down.sseHeaders);
    res.flushHeaders();
    e.down.attachGet(res);
  }

  /** GET + Last-Event-ID: replay what the stream sent after that event, then carry the rest. */
  #resume(down: HttpDownstream, last: string, res: ServerResponse) {
    const at = down.store.lookup(last);
    if (!at.ok)
      return fail(
        res,
        400,
        `Bad Request: cannot resume from Last-Event-ID "${last}": ${at.reason}. Open the stream again without Last-Event-ID (what was sent meanwhile is lost) or repeat the request.`,
      );
    const post = at.stream === GET_STREAM ? undefined : down.resumable.get(at.stream);
    const busy =
      at.stream === GET_STREAM
        ? down.getStream !== undefined && !down.getStream.destroyed
        : post?.attached === true;
    if (busy) return fail(res, 409, "Conflict: this stream is open on another connection.");
    res.writeHead(200, down.sseHeaders);
    res.flushHeaders();
    for (const frame of down.store.after(at.stream, at.seq)) res.write(frame);
    if (at.stream === GET_STREAM) down.attachGet(res, true);
    else if (post === undefined || post.done) res.end();
    else post.resume(res);
  }

  #delete(req: IncomingMessage, res: ServerResponse, caller: string) {
    const e = this.#session(req, res, caller);
    if (e === undefined) return;
    this.#end(e.down.sessionId, e);
    res.writeHead(200, { "content-length": "0" }).end();
  }

  #post(req: IncomingMessage, res: ServerResponse, caller: string) {
    const accept = req.headers.accept ?? "*/*";
    const acceptsJson = accept.includes("application/json") || accept.includes("*/*");
    const acceptsSse = accept.includes("text/event-stream") || accept.includes("*/*");
    if (!acceptsJson && !acceptsSse)
      return fail(
        res,
        406,
        "Not Acceptable: Accept must include application/json and text/event-stream.",
      );
    const ct = req.headers["content-type"] ?? "";
    if (!ct.includes("application/json"))
      return fail(res, 415, "Unsupported Media Type: Content-Type must be application/json.");
    // a complete answer is one SSE event when the client names SSE (json_response: JSON if it can)
    const sseAnswer = accept.includes("text/event-stream") && !(acceptsJson && this.#json);
    readBody(
      req,
      res,
      this.#maxBody,
      (body) => {
        if (body === undefined) return;
        const go = () =>
          this.#messages(req, res, body.toString("utf8"), acceptsSse, sseAnswer, caller);
        if (this.withTrace === undefined) go();
        else this.withTrace(req.headers, go);
      },
      (reason) =>
        this.#refused(req, caller, { method: NO_METHOD, code: "message_too_large", reason }),
    );
  }

  #messages(
    req: IncomingMessage,
    res: ServerResponse,
    text: string,
    acceptsSse: boolean,
    sseAnswer: boolean,
    caller: string,
  ) {
    const refuse = (status: number, r: Refusal, code = INVALID_REQUEST) => {
      this.#refused(req, caller, r);
      fail(res, status, r.reason, code, {}, { warden: r.code });
    };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      const reason = `Parse error: ${(e as Error).message}`;
      return refuse(400, { method: NO_METHOD, code: "message_invalid", reason }, PARSE_ERROR);
    }
    const batch = Array.isArray(body);
    const msgs = (batch ? body : [body]) as Message[];
    for (const m of msgs) {
      const bad = invalidMessage(m, this.jsonDepth);
      const reason = `Invalid JSON-RPC message: ${bad}`;
      if (bad !== undefined)
        return refuse(400, { method: methodOf(m), code: "message_invalid", reason });
    }
    // JSON-RPC ids name the POST an answer goes to: an id twice in a batch is refused whole
    const dup = duplicateId(msgs);
    if (dup !== undefined)
      return refuse(400, {
        method: methodOf(msgs[0]),
        code: "message_invalid",
        reason: `Invalid Request: the id ${JSON.stringify(dup)} is used by two requests of this batch; give each request its own id.`,
      });
    const isInit = msgs.some((m) => "method" in m && m.method === "initialize");
    if (isInit) {
      if (msgs.length > 1)
        return refuse(400, {
          method: "initialize",
          code: "message_invalid",
          reason: "Invalid Request: initialize must be sent alone.",
        });
      if (req.headers["mcp-session-id"] !== undefined)
        return refuse(400, {
          method: "initialize",
          code: "already_initialized",
          reason:
            "Invalid Request: this session is already initialized; to connect again, POST initialize without Mcp-Session-Id (a new session).",
        });
      const room = this.#room(res, caller);
      if (room === "no") return;
      const open = () => {
        const entry = this.#open(req, caller);
        const go = () => this.#dispatch(req, res, entry, msgs, batch, acceptsSse, sseAnswer);
        // state.redis: the session is recorded before its client can reach another instance
        if (this.forwarder === undefined) return go();
        this.forwarder.opened(entry.down.sessionId).then(go);
      };
      if (room === "wait") return this.#waitSlot(res, caller, open);
      return open();
    }
    const e = this.#session(req, res, caller, methodOf(msgs[0]));
    if (e === undefined) return;
    // an id still in flight would take its answer from the POST waiting for it, for ever
    for (const m of msgs)
      if (
        "method" in m &&
        "id" in m &&
        m.id !== undefined &&
        m.id !== null &&
        e.down.byRequest.has(m.id)
      )
        return refuse(400, {
          method: m.method,
          code: "message_invalid",
          reason: `Invalid Request: the id ${JSON.stringify(m.id)} names a request of this session still in flight; give each request its own id.`,
        });
    // every request in flight holds its POST and its call upstream: bounded per session
    let n = e.down.byRequest.size;
    for (const m of msgs)
      if ("method" in m && "id" in m && m.id !== undefined && m.id !== null) n++;
    if (n > MAX_REQUESTS_IN_FLIGHT) {
      const reason = `Too many requests: this session would have ${n} requests awaiting their answers, past its limit of ${MAX_REQUESTS_IN_FLIGHT}; wait for some answers (or cancel them) and send again.`;
      this.#refused(req, caller, { method: methodOf(msgs[0]), code: "requests_full", reason });
      return fail(
        res,
        429,
        reason,
        INVALID_REQUEST,
        { "retry-after": "1" },
        { warden: "requests_full" },
      );
    }
    this.#dispatch(req, res, e, msgs, batch, acceptsSse, sseAnswer);
  }

  /** A new session, counted against its caller. */
  #open(req: IncomingMessage, caller: string): Entry {
    const id = randomUUID();
    const down = new HttpDownstream(id, req.headers.host, caller);
    const entry: Entry = { down, session: this.createSession(down) };
    down.queueLimit = this.queueLimit;
    down.ondrop = (queued) => {
      this.log(
        `HTTP session ${id} (caller "${caller}") is not reading: ${queued} bytes are queued towards it, more than limits.client_queue_bytes (${this.queueLimit}); dropped`,
      );
      down.destroyStreams();
      this.#end(id, entry);
    };
    this.sessions.set(id, entry);
    this.#perCaller.set(caller, (this.#perCaller.get(caller) ?? 0) + 1);
    return entry;
  }

  #dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    e: Entry,
    msgs: Message[],
    batch: boolean,
    acceptsSse: boolean,
    sseAnswer: boolean,
  ) {
    const down = e.down;
    down.lastActive = Date.now();
    const who = principalOf(req);
    if (who !== undefined) down.principal = who;
    const ids = new Set<Id>();
    for (const m of msgs)
      if ("method" in m && "id" in m && m.id !== undefined && m.id !== null) ids.add(m.id);
    if (ids.size === 0) {
      res.writeHead(202, down.acceptedHeaders).end();
    } else {
      // A POST whose client leaves keeps its requests: an SSE one is resumed with GET +
      // Last-Event-ID; before its first event, its answers go to the GET stream (PostStream).
      const v = req.headers["mcp-protocol-version"];
      const primable =
        typeof v === "string" &&
        v >= "2025-11-25" &&
        (req.headers.accept ?? "").includes("text/event-stream");
      const stream = new PostStream(
        down,
        res,
        ids,
        batch,
        acceptsSse,
        sseAnswer,
        down.lastActive,
        primable,
      );
      for (const id of ids) down.byRequest.set(id, stream);
    }
    for (const m of msgs) {
      e.session.receive(m);
      // a cancelled request is not answered: its POST must not wait for it (nor keep the
      // session from being collected as idle)
      if ("method" in m && m.method === "notifications/cancelled") {
        const id = (m.params as { requestId?: unknown } | undefined)?.requestId;
        if (typeof id === "string" || typeof id === "number") down.cancelled(id);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#primer) clearInterval(this.#primer);
    for (const [id, e] of [...this.sessions]) this.#end(id, e);
    await this.forwarder?.close();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }
}

/** The first id two requests of `msgs` share, if any (answers and notifications aside). */
function duplicateId(msgs: readonly Message[]): Id | undefined {
  if (msgs.length < 2) return undefined;
  const seen = new Set<Id>();
  for (const m of msgs) {
    if (!("method" in m) || !("id" in m) || m.id === undefined || m.id === null) continue;
    if (seen.has(m.id)) return m.id;
    seen.add(m.id);
  }
  return undefined;
}
