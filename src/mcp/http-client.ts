/**
 * The Streamable HTTP client transport (the SDK's `Transport` interface) to HTTP upstreams, on
 * an undici Pool: POST each message and read its JSON or SSE answer, open the standalone GET
 * stream after `notifications/initialized`, send Mcp-Session-Id and MCP-Protocol-Version,
 * resume a POST stream that ended before its answer with GET + Last-Event-ID (SEP-1699), DELETE
 * the session on close. HTTP is parsed by undici, SSE by eventsource-parser; every answer and
 * every SSE event is bounded (`maxAnswer`), and what the gateway copies from an answer into its
 * next requests (Mcp-Session-Id, an event id) must be visible ASCII or it is refused.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { createParser, type EventSourceParser } from "eventsource-parser";
import { type Dispatcher, Pool } from "undici";
import { INTERNAL_ERROR, invalidMessage, MAX_DEPTH, type Message } from "./jsonrpc.js";
import type { Received } from "./upstream-transport.js";

/** Default bound of one upstream answer (JSON body) or one SSE event. */
export const MAX_ANSWER = 16 * 1024 * 1024;
const GET_RETRIES = 3;
/** MCP: a session id is visible ASCII (0x21 to 0x7E). */
const SESSION_ID = /^[\x21-\x7e]+$/;
/** An SSE event id sent back as Last-Event-ID: printable ASCII only. */
const EVENT_ID = /^[\x20-\x7e]+$/;

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
interface SseBody {
  data(chunk: Buffer): void;
  end(): void;
}

export interface HttpClientOptions {
  /** The bound of one answer or SSE event, in bytes (upstreams[].max_answer_bytes). */
  maxAnswer?: number;
  /** How deep a message may nest (limits.json_depth). */
  jsonDepth?: number;
}

export class HttpClientTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onerror?: (e: Error) => void;
  onclose?: () => void;
  /**
   * When set, each message goes here instead of to `onmessage`, with its text when it came alone
   * (not in a batch) and the id of the request whose answer (or SSE stream) carried it.
   */
  onreceive?: (r: Received) => void;
  readonly #pool: Pool;
  readonly #path: string;
  /** The fixed request headers (config headers, credentials of the URL). */
  readonly #fixed: string[];
  readonly #max: number;
  readonly #depth: number;
  readonly #where: string;
  #session: string | undefined;
  #protocol: string | undefined;
  #get: Controller | undefined;
  #closed = false;

  constructor(url: URL, headers: Record<string, string> = {}, opts: HttpClientOptions = {}) {
    this.#max = opts.maxAnswer ?? MAX_ANSWER;
    this.#depth = opts.jsonDepth ?? MAX_DEPTH;
    this.#path = `${url.pathname || "/"}${url.search}`;
    this.#where = url.origin;
    this.#fixed = [];
    for (const [k, v] of Object.entries(headers)) this.#fixed.push(k, v);
    if (url.username !== "" || url.password !== "")
      this.#fixed.push(
        "authorization",
        `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`,
      );
    this.#pool = new Pool(url.origin, {
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      // close an idle connection 2 s before the server's Keep-Alive: timeout says it will
      keepAliveTimeoutThreshold: 2_000,
      maxHeaderSize: 16 * 1024,
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
      connect: { timeout: 10_000 },
    });
  }

  get sessionId(): string | undefined {
    return this.#session;
  }

  async start(): Promise<void> {}

  setProtocolVersion(v: string): void {
    this.#protocol = v;
  }

  /** Replace the Authorization header of the next requests (an exchanged token renewed). */
  setAuthorization(value: string): void {
    const f = this.#fixed;
    for (let i = 0; i < f.length; i += 2)
      if (f[i]!.toLowerCase() === "authorization") {
        f[i + 1] = value;
        return;
      }
    f.push("authorization", value);
  }

  /** True once closed (nothing more is sent). */
  get closed(): boolean {
    return this.#closed;
  }

  #headers(accept: string, body: boolean, extra?: readonly string[]): string[] {
    const h = [...this.#fixed, "accept", accept];
    if (body) h.push("content-type", "application/json");
    if (this.#session !== undefined) h.push("mcp-session-id", this.#session);
    if (this.#protocol !== undefined) h.push("mcp-protocol-version", this.#protocol);
    if (extra !== undefined) h.push(...extra);
    return h;
  }

  /** Take the session id an answer carries; an error if it is not visible ASCII. */
  #takeSession(h: Record<string, string | string[] | undefined>): Error | undefined {
    const sid = h["mcp-session-id"];
    if (sid === undefined) return undefined;
    if (typeof sid !== "string" || sid.length > 1024 || !SESSION_ID.test(sid))
      return new Error(
        `upstream ${this.#where} sent an Mcp-Session-Id that is not one value of visible ASCII characters (refused: it would be written into the next requests)`,
      );
    this.#session = sid;
    return undefined;
  }

  /** Deliver one JSON body; true when it holds the answer to `answerOf`. */
  #deliver(text: string, answerOf?: unknown): boolean {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      this.onerror?.(new Error(`upstream sent invalid JSON: ${(e as Error).message}`));
      return false;
    }
    let answered = false;
    const batch = Array.isArray(v);
    for (const m of batch ? (v as unknown[]) : [v]) {
      const bad = invalidMessage(m, this.#depth);
      if (bad !== undefined) {
        this.onerror?.(new Error(`upstream sent an invalid JSON-RPC message: ${bad}`));
        continue;
      }
      const o = m as { id?: unknown; method?: unknown };
      if (answerOf !== undefined && o.id === answerOf && o.method === undefined) answered = true;
      if (this.onreceive === undefined) this.onmessage?.(m as never);
      else
        this.onreceive({ message: m as Message, raw: batch ? undefined : text, related: answerOf });
    }
    return answered;
  }

  /**
   * An SSE body reader: each event's data delivered, every event bounded. When the stream of
   * a POST ends before its answer and the server gave event ids, resume with GET +
   * Last-Event-ID.
   */
  #sse(answerOf: unknown, attempt: number, c: () => Controller | undefined): SseBody {
    const dec = new TextDecoder();
    let sinceEvent = 0;
    let lastId: string | undefined;
    let retry = 1000;
    let answered = false;
    let cut = false;
    const tooLarge = () => {
      if (cut) return;
      cut = true;
      const e = this.#tooLarge("an SSE event");
      this.onerror?.(e);
      if (!answered) this.#errorAnswer(answerOf, e);
      c()?.abort(e);
    };
    const parser: EventSourceParser = createParser({
      maxBufferSize: this.#max,
      onEvent: (e) => {
        sinceEvent = 0;
        if (e.id !== undefined) lastId = e.id;
        if (e.data.trim() !== "" && this.#deliver(e.data, answerOf)) answered = true;
      },
      onComment: () => {
        sinceEvent = 0;
      },
      onRetry: (ms) => {
        retry = Math.min(Math.max(ms, 100), 60_000);
      },
      onError: (e) => {
        if (e.type === "max-buffer-size-exceeded") tooLarge();
      },
    });
    return {
      data: (chunk: Buffer) => {
        if (cut) return;
        sinceEvent += chunk.length;
        if (sinceEvent > this.#max) return tooLarge();
        parser.feed(dec.decode(chunk, { stream: true }));
      },
      end: () => {
        if (cut) return;
        cut = true;
        parser.feed(dec.decode());
        if (answerOf === undefined || answered || lastId === undefined) return;
        if (this.#closed || attempt >= GET_RETRIES || !EVENT_ID.test(lastId)) return;
        setTimeout(() => this.#resume(lastId!, answerOf, attempt + 1), retry).unref();
      },
    };
  }

  /** Answer request `id` (if it is one) with an error: its upstream answer was lost. */
  #errorAnswer(id: unknown, e: Error): void {
    if (id === undefined || id === null) return;
    const error = { code: INTERNAL_ERROR, message: e.message };
    this.#deliver(JSON.stringify({ jsonrpc: "2.0", id, error }));
  }

  #tooLarge(what: string): Error {
    return new Error(
      `upstream ${this.#where} sent ${what} over ${this.#max} bytes (upstreams[].max_answer_bytes); the request was cut`,
    );
  }

  send(message: Parameters<Transport["send"]>[0]): Promise<void> {
    return new Promise((resolve, reject) => this.post(message as Message, reject, resolve));
  }

  /**
   * Send without a Promise (the gateway's hot path): `onFail` hears of an HTTP error, a refused
   * answer or a connection that failed; `onSent` of the answer's head arriving. `trace`: the
   * call's trace headers (traceparent, tracestate) as name, value pairs.
   */
  post(
    message: Message,
    onFail: (e: Error) => void,
    onSent?: () => void,
    retry = true,
    trace?: readonly string[],
  ): void {
    if (this.#closed) return void onFail(new Error("transport closed"));
    const answerOf = (message as { id?: unknown }).id;
    const isInitialized = (message as { method?: string }).method === "notifications/initialized";
    let mode: "json" | "sse" | "error" | "skip" = "json";
    let status = 0;
    let size = 0;
    let chunks: Buffer[] = [];
    let sse: SseBody | undefined;
    let ctl: Controller | undefined;
    let failed = false;
    /** Before an answer's head (or an HTTP error): the send failed. */
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      this.onerror?.(e);
      onFail(e);
    };
    /** After the head: this request's answer is lost; its caller gets an error answer. */
    const lost = (e: Error) => {
      if (failed) return;
      failed = true;
      this.onerror?.(e);
      this.#errorAnswer(answerOf, e);
    };
    const handler: Handler = {
      onRequestStart: (c) => {
        ctl = c;
      },
      onResponseStart: (c, code, headers) => {
        status = code;
        const bad = this.#takeSession(headers);
        if (bad !== undefined) {
          fail(bad);
          return void c.abort(bad);
        }
        if (status >= 400) mode = "error";
        else if (status === 202 || status === 204) mode = "skip";
        else if (String(headers["content-type"] ?? "").includes("text/event-stream")) {
          mode = "sse";
          sse = this.#sse(answerOf, 0, () => ctl);
        }
        if (mode !== "error") onSent?.();
        if (mode === "skip" && isInitialized) this.#openGet(0);
      },
      onResponseData: (c, chunk) => {
        if (mode === "sse") return sse!.data(chunk);
        if (mode === "skip") return;
        size += chunk.length;
        if (size > this.#max) {
          chunks = [];
          const e = this.#tooLarge("an answer");
          if (mode === "error") fail(e);
          else lost(e);
          return void c.abort(e);
        }
        chunks.push(chunk);
      },
      onResponseEnd: () => {
        if (failed) return;
        if (mode === "sse") return sse!.end();
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (mode === "error")
          fail(
            new Error(
              `upstream answered HTTP ${status}: ${body.subarray(0, 300).toString("utf8")}`,
            ),
          );
        else if (mode === "json" && body.length > 0) this.#deliver(body.toString("utf8"));
      },
      onResponseError: (_c, e) => {
        if (failed) return;
        if (mode === "sse") {
          // the stream broke after its head: resume it if the server gave ids
          this.onerror?.(e);
          return sse!.end();
        }
        // a kept-alive connection the server closed as we sent (no byte of answer): once more,
        // on a fresh one (the server closed it idle: it did not read the request)
        if (status === 0 && retry && (e as { code?: string }).code === "UND_ERR_SOCKET") {
          failed = true;
          return void setImmediate(() => this.post(message, onFail, onSent, false, trace));
        }
        if (status === 0 || mode === "error") fail(e);
        else if (mode === "json")
          lost(new Error(`upstream ${this.#where} cut its answer: ${e.message}`));
      },
    };
    try {
      this.#pool.dispatch(
        {
          path: this.#path,
          method: "POST",
          headers: this.#headers("application/json, text/event-stream", true, trace),
          body: JSON.stringify(message),
        },
        handler,
      );
    } catch (e) {
      fail(e as Error);
    }
  }

  /** GET + Last-Event-ID: the rest of a POST stream that ended before its answer. */
  #resume(lastId: string, answerOf: unknown, attempt: number): void {
    this.#stream(["last-event-id", lastId], answerOf, attempt, () => {});
  }

  /** The standalone stream for server messages not tied to a request (405: the server has none). */
  #openGet(attempt: number): void {
    if (this.#closed || this.#session === undefined) return;
    this.#stream(undefined, undefined, 0, (opened) => {
      if (opened && !this.#closed && attempt < GET_RETRIES)
        setTimeout(() => this.#openGet(attempt + 1), 500 * 2 ** attempt).unref();
    });
  }

  /** A GET SSE stream; `ended(opened)` when it ends (opened: it was answered 200). */
  #stream(
    extra: string[] | undefined,
    answerOf: unknown,
    attempt: number,
    ended: (opened: boolean) => void,
  ): void {
    if (this.#closed) return;
    let ctl: Controller | undefined;
    let sse: SseBody | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (this.#get === ctl) this.#get = undefined;
      sse?.end();
      ended(sse !== undefined);
    };
    const handler: Handler = {
      onRequestStart: (c) => {
        ctl = c;
        if (answerOf === undefined) this.#get = c;
      },
      onResponseStart: (c, code, headers) => {
        const bad = this.#takeSession(headers);
        if (bad !== undefined) {
          this.onerror?.(bad);
          return void c.abort(bad);
        }
        if (code === 200) sse = this.#sse(answerOf, attempt, () => ctl);
      },
      onResponseData: (_c, chunk) => sse?.data(chunk),
      onResponseEnd: finish,
      onResponseError: finish,
    };
    try {
      this.#pool.dispatch(
        {
          path: this.#path,
          method: "GET",
          headers: this.#headers("text/event-stream", false, extra),
          bodyTimeout: 0,
        },
        handler,
      );
    } catch (e) {
      this.onerror?.(e as Error);
    }
  }

  /** End the upstream session (DELETE, at most 2 s); a 405 answer is fine. */
  async terminateSession(): Promise<void> {
    if (this.#session === undefined || this.#closed) return;
    await this.#pool
      .request({
        path: this.#path,
        method: "DELETE",
        headers: this.#headers("application/json", false),
        headersTimeout: 2000,
        bodyTimeout: 2000,
      })
      .then((r) => r.body.dump())
      .catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#get?.abort(new Error("transport closed"));
    await this.#pool.destroy().catch(() => {});
    this.onclose?.();
  }
}
