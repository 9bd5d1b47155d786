/**
 * The HTTP side of one downstream session: which POST response stream each client request
 * is answered on, the standalone GET stream, the switch from a one-write answer to an SSE
 * stream the moment a request gets a message before its answer (progress, sampling...), and
 * resumption of a session's SSE streams with GET + Last-Event-ID (event-store.ts).
 */

import type { ServerResponse } from "node:http";
import type { Principal } from "../identity/index.js";
import { MESSAGE_LIMITS } from "./config-types.js";
import { EventStore, GET_STREAM } from "./event-store.js";
import type { Id, Message } from "./jsonrpc.js";
import type { Downstream } from "./session-core.js";

const MAX_QUEUED = 1000;

/** Response headers as a flat [name, value, ...] list (node:http writes it as it is). */
type Headers = string[];

/**
 * A complete answer written at once, with its Content-Length: SSE without ids (nothing to
 * resume) or JSON.
 */
function oneShot(res: ServerResponse, headers: Headers, body: string): void {
  res.writeHead(200, [...headers, "content-length", String(Buffer.byteLength(body))]);
  res.end(body);
}

/** The answer stream of one POST that carried requests. */
export class PostStream {
  /** The store's stream number once this POST answers in SSE (0: not yet). */
  stream = 0;
  /** Answers held for the one-write answer, as JSON texts. */
  #answers: string[] = [];
  #done = false;
  /** The connection events go to: the POST's own, then the one of a resuming GET. */
  #out: ServerResponse | undefined;
  constructor(
    readonly down: HttpDownstream,
    readonly res: ServerResponse,
    readonly pending: Set<Id>,
    readonly batch: boolean,
    readonly acceptsSse: boolean,
    /** A complete answer goes out as one SSE event (else as JSON). */
    readonly sseAnswer = acceptsSse,
    /** When the POST came (ms), and whether its client takes priming events (2025-11-25+). */
    readonly since = 0,
    readonly primable = false,
  ) {
    this.#out = res;
  }

  get open(): boolean {
    return !this.#done && this.#out !== undefined && !this.#out.destroyed;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Send a non-final message (JSON text) for one of this POST's requests; false if it cannot. */
  event(json: string): boolean {
    if (this.#done) return false;
    if (this.stream === 0 && !this.#toSse()) return false;
    this.#write(this.down.store.frame(this.stream, json));
    return true;
  }

  /** Still waiting after a while: become an SSE stream with a priming event, so a client
   * whose connection drops before the answer can resume it (SEP-1699). */
  prime(retryMs: number): void {
    if (this.#done || this.stream !== 0 || !this.primable || !this.#toSse()) return;
    this.#write(this.down.store.prime(this.stream, retryMs));
  }

  #toSse(): boolean {
    if (!this.acceptsSse || this.res.destroyed) return false;
    this.stream = this.down.store.open();
    this.down.resumable.set(this.stream, this);
    this.res.writeHead(200, this.down.sseHeaders);
    for (const a of this.#answers) this.#write(this.down.store.frame(this.stream, a));
    this.#answers = [];
    return true;
  }

  /** The answer (JSON text) to request `id` of this POST. */
  answer(id: Id, json: string): void {
    this.pending.delete(id);
    if (this.#done) return;
    if (this.stream !== 0) this.#write(this.down.store.frame(this.stream, json));
    else if (this.res.destroyed) {
      // the client left before any event (no id to resume from): answers go to the GET stream
      for (const a of this.#answers) this.down.standalone(a);
      this.#answers = [];
      this.down.standalone(json);
      if (this.pending.size === 0) this.#done = true;
      return;
    } else this.#answers.push(json);
    if (this.pending.size === 0) this.#finish();
  }

  /**
   * The client cancelled request `id` of this POST: it gets no answer (MCP), so the POST ends
   * once its other requests are answered (the answers held so far go out, or 202 when none).
   */
  cancelled(id: Id): void {
    if (!this.pending.delete(id) || this.#done || this.pending.size > 0) return;
    this.#finish();
  }

  /**
   * Every request of this POST is answered or cancelled: end its SSE stream, or send the
   * answers held so far in one piece (202 when there are none: all were cancelled).
   */
  #finish(): void {
    this.#done = true;
    if (this.stream !== 0) {
      this.down.store.finish(this.stream);
      this.down.resumable.delete(this.stream);
      const out = this.#out;
      if (out !== undefined && !out.destroyed) out.end();
      return;
    }
    if (this.res.destroyed || this.res.headersSent) return;
    const a = this.#answers;
    this.#answers = [];
    if (a.length === 0) this.res.writeHead(202, this.down.acceptedHeaders).end();
    else if (!this.sseAnswer)
      oneShot(this.res, this.down.jsonOneShot, this.batch ? `[${a.join(",")}]` : a[0]!);
    else
      oneShot(
        this.res,
        this.down.sseHeaders,
        a.map((x) => `event: message\ndata: ${x}\n\n`).join(""),
      );
  }

  /** A GET with this stream's Last-Event-ID: it carries the rest of the stream. */
  resume(res: ServerResponse): void {
    this.#out = res;
  }

  /** Is a connection carrying this stream right now? */
  get attached(): boolean {
    return this.#out !== undefined && !this.#out.destroyed && !this.#out.writableEnded;
  }

  end(): void {
    this.#done = true;
    if (this.#out !== undefined && !this.#out.destroyed) this.#out.end();
  }

  #write(frame: string): void {
    const out = this.#out;
    if (out !== undefined && !out.destroyed && !out.writableEnded) {
      out.write(frame);
      this.down.written(out);
    }
  }

  /** Cut the stream without flushing what waits (a client that does not read). */
  destroy(): void {
    this.#done = true;
    this.#out?.destroy();
  }

  /** Bytes written to this POST's stream that its client has not read yet. */
  get queued(): number {
    return this.#out?.writableLength ?? 0;
  }
}

export class HttpDownstream implements Downstream {
  readonly transport = "http" as const;
  readonly byRequest = new Map<Id, PostStream>();
  /** POST streams in SSE with requests still pending, by stream number (for resumption). */
  readonly resumable = new Map<number, PostStream>();
  readonly store = new EventStore();
  getStream: ServerResponse | undefined;
  #queue: string[] = [];
  lastActive = Date.now();
  /** limits.client_queue_bytes: past this, unread bytes towards the client drop it. */
  queueLimit = MESSAGE_LIMITS.clientQueueBytes;
  /** Called once when the client does not read (the front ends the session). */
  ondrop: (queued: number) => void = () => {};
  #dropped = false;
  /** The headers of this session's answers: SSE streams and one-event SSE answers, JSON, 202. */
  readonly sseHeaders: Headers;
  readonly jsonOneShot: Headers;
  readonly acceptedHeaders: Headers;
  /** auth.oauth: who the latest request's access token names (groups, scopes; see Downstream). */
  principal: Principal | undefined;

  constructor(
    readonly sessionId: string,
    readonly host: string | undefined,
    /** The authenticated identity (see Downstream.caller); "anonymous" without named tokens. */
    readonly caller = "anonymous",
  ) {
    this.sseHeaders = [
      "content-type",
      "text/event-stream",
      "cache-control",
      "no-cache",
      "mcp-session-id",
      sessionId,
    ];
    this.jsonOneShot = ["content-type", "application/json", "mcp-session-id", sessionId];
    this.acceptedHeaders = ["mcp-session-id", sessionId, "content-length", "0"];
  }

  send(m: Message, related?: Id, json?: string): void {
    const text = json ?? JSON.stringify(m);
    const isAnswer = !("method" in m) && "id" in m;
    if (isAnswer) {
      const id = (m as { id: Id }).id;
      const s = this.byRequest.get(id);
      if (s !== undefined) {
        this.byRequest.delete(id);
        s.answer(id, text);
        return;
      }
    } else if (related !== undefined) {
      const s = this.byRequest.get(related);
      if (s?.event(text)) return;
    }
    this.standalone(text);
  }

  /** The client cancelled its request `id`: no answer will come for it (MCP). */
  cancelled(id: Id): void {
    const s = this.byRequest.get(id);
    if (s === undefined) return;
    this.byRequest.delete(id);
    s.cancelled(id);
  }

  /** Send a message (JSON text) on the GET stream (queued until one is open). */
  standalone(json: string): void {
    const frame = this.store.frame(GET_STREAM, json);
    const g = this.getStream;
    // an ended stream (the session is closing) takes no more writes: writing would throw
    // ERR_STREAM_WRITE_AFTER_END out of the event loop and end the process
    if (g?.writableEnded === true) return;
    if (g !== undefined && !g.destroyed) {
      g.write(frame);
      this.written(g);
    } else if (this.#queue.length < MAX_QUEUED) this.#queue.push(frame);
  }

  /** After a write to `res`: drop a client that lets more than queueLimit bytes wait. */
  written(res: ServerResponse): void {
    if (this.#dropped || res.writableLength === 0) return;
    let queued = this.getStream?.writableLength ?? 0;
    for (const s of this.byRequest.values()) queued += s.queued;
    if (queued <= this.queueLimit) return;
    this.#dropped = true;
    this.ondrop(queued);
  }

  /** A GET stream opened: send what waited for it (a resumed one got it replayed). */
  attachGet(res: ServerResponse, resumed = false): void {
    this.getStream = res;
    const q = this.#queue;
    this.#queue = [];
    if (!resumed) for (const f of q) res.write(f);
    res.on("close", () => {
      if (this.getStream === res) this.getStream = undefined;
    });
  }

  /** Cut every stream of this client, dropping what waits for it. */
  destroyStreams(): void {
    this.getStream?.destroy();
    for (const s of this.byRequest.values()) s.destroy();
  }

  closeStreams(): void {
    this.getStream?.end();
    for (const s of this.byRequest.values()) s.end();
    this.byRequest.clear();
    this.resumable.clear();
  }
}
