/**
 * A lean Streamable HTTP client transport (the SDK's `Transport` interface) on node:http
 * keep-alive: POST each message, read a JSON or SSE answer, open the standalone GET stream
 * after `notifications/initialized`, send Mcp-Session-Id and MCP-Protocol-Version, DELETE the
 * session on close. It skips web Request/Response objects and the per-message zod pass, which
 * cost the SDK's client transport about 0.2 ms per message on the reference VM (see
 * docs/gateway.md, "Upstream transports"). A POST stream that ends before its answer is
 * resumed with GET + Last-Event-ID. Not supported: OAuth flows (use `client: sdk`).
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { StringDecoder } from "node:string_decoder";
import { urlToHttpOptions } from "node:url";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { invalidMessage, type Message } from "./jsonrpc.js";
import { RawHttpPool } from "./lean-http-socket.js";
import { type SseReader, sseReader } from "./sse-reader.js";

const GET_RETRIES = 3;
/** Header names and values the raw path writes as they are (anything else goes through node:http). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const RESERVED = new Set([
  "host",
  "content-length",
  "content-type",
  "accept",
  "transfer-encoding",
  "connection",
  "mcp-session-id",
  "mcp-protocol-version",
]);

export class LeanHttpClientTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onerror?: (e: Error) => void;
  onclose?: () => void;
  /** While `onmessage` runs: the text of that message when it came alone (not in a batch). */
  lastRaw: string | undefined;
  /** The URL as request options, made once (urlToHttpOptions costs ~15 µs per request). */
  readonly #opts: RequestOptions;
  readonly #headers: Record<string, string>;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  #session: string | undefined;
  #protocol: string | undefined;
  #get: ClientRequest | undefined;
  #closed = false;
  /** Plain http: pooled raw sockets for POSTs; the request line's target and fixed headers. */
  readonly #pool: RawHttpPool | undefined;
  readonly #path: string;
  readonly #fixed: string;

  constructor(url: URL, headers: Record<string, string> = {}) {
    this.#opts = urlToHttpOptions(url);
    this.#headers = headers;
    const secure = url.protocol === "https:";
    this.#agent = secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 256 })
      : new HttpAgent({ keepAlive: true, maxSockets: 256 });
    this.#request = secure ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
    this.#path = `${url.pathname || "/"}${url.search}`;
    let fixed = `host: ${url.host}\r\n`;
    // Credentials in the URL (user:pass@) are sent by node:http as Basic auth: keep that path.
    let plain = !secure && url.username === "" && url.password === "";
    for (const [k, v] of Object.entries(headers)) {
      if (!TOKEN.test(k) || !VALUE.test(v) || RESERVED.has(k.toLowerCase())) plain = false;
      fixed += `${k}: ${v}\r\n`;
    }
    this.#fixed = `${fixed}content-type: application/json\r\naccept: application/json, text/event-stream\r\n`;
    const port = Number(url.port || 80);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.#pool = plain ? new RawHttpPool(host, port) : undefined;
  }

  get sessionId(): string | undefined {
    return this.#session;
  }

  async start(): Promise<void> {}

  setProtocolVersion(v: string): void {
    this.#protocol = v;
  }

  #headersFor(accept: string, body: boolean): Record<string, string> {
    const h: Record<string, string> = { ...this.#headers, accept };
    if (body) h["content-type"] = "application/json";
    if (this.#session !== undefined) h["mcp-session-id"] = this.#session;
    if (this.#protocol !== undefined) h["mcp-protocol-version"] = this.#protocol;
    return h;
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
      const bad = invalidMessage(m);
      if (bad !== undefined) {
        this.onerror?.(new Error(`upstream sent an invalid JSON-RPC message: ${bad}`));
        continue;
      }
      const o = m as { id?: unknown; method?: unknown };
      if (answerOf !== undefined && o.id === answerOf && o.method === undefined) answered = true;
      this.lastRaw = batch ? undefined : text;
      this.onmessage?.(m as never);
      this.lastRaw = undefined;
    }
    return answered;
  }

  /**
   * An SSE body reader, delivering each event's data. When the stream of a POST ends before
   * its answer came and the server gave event ids, resume with GET + Last-Event-ID (SEP-1699).
   */
  #sseReader(answerOf: unknown, attempt: number): SseReader {
    return sseReader(
      (data) => this.#deliver(data, answerOf),
      ({ lastId, retry, answered }) => {
        if (answerOf === undefined || answered || lastId === undefined) return;
        if (this.#closed || attempt >= GET_RETRIES) return;
        setTimeout(() => this.#resume(lastId, answerOf, attempt + 1), retry).unref();
      },
    );
  }

  #sse(res: IncomingMessage, answerOf?: unknown, attempt = 0): void {
    const r = this.#sseReader(answerOf, attempt);
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => r.push(chunk));
    res.on("close", () => r.end());
  }

  #resume(lastId: string, answerOf: unknown, attempt: number): void {
    if (this.#closed) return;
    const headers = { ...this.#headersFor("text/event-stream", false), "last-event-id": lastId };
    const req = this.#request(
      { ...this.#opts, method: "GET", agent: this.#agent, headers },
      (res) => {
        if (res.statusCode !== 200) return void res.resume();
        this.#sse(res, answerOf, attempt);
      },
    );
    req.on("error", (e) => this.onerror?.(e));
    req.end();
  }

  send(message: Parameters<Transport["send"]>[0]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("transport closed"));
    if (this.#pool === undefined) return this.#sendNode(message as Message);
    return new Promise((resolve, reject) => this.post(message as Message, reject, resolve));
  }

  /**
   * Send without a Promise (the gateway's hot path): `onFail` hears of an HTTP error or a
   * connection that failed, `onSent` of the answer's head arriving.
   */
  post(message: Message, onFail: (e: Error) => void, onSent?: () => void): void {
    if (this.#closed) return void onFail(new Error("transport closed"));
    if (this.#pool === undefined) {
      this.#sendNode(message).then(onSent, onFail);
      return;
    }
    this.#sendRaw(message, onSent, onFail);
  }

  /** POST on a pooled raw socket (plain http): the common path. */
  #sendRaw(message: Message, resolve: (() => void) | undefined, reject: (e: Error) => void): void {
    const body = JSON.stringify(message);
    let text = `POST ${this.#path} HTTP/1.1\r\n${this.#fixed}`;
    if (this.#session !== undefined) text += `mcp-session-id: ${this.#session}\r\n`;
    if (this.#protocol !== undefined) text += `mcp-protocol-version: ${this.#protocol}\r\n`;
    text += `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    let mode: "json" | "sse" | "error" | "skip" = "json";
    let status = 0;
    let chunks: Buffer[] | undefined;
    let one: Buffer | undefined;
    let sse: SseReader | undefined;
    let dec: StringDecoder | undefined;
    this.#pool!.request(text, {
      head: (r) => {
        const sid = r.headers["mcp-session-id"];
        if (sid !== undefined) this.#session = sid;
        status = r.status;
        if (status >= 400) mode = "error";
        else if (status === 202 || status === 204) mode = "skip";
        else if ((r.headers["content-type"] ?? "").includes("text/event-stream")) {
          mode = "sse";
          sse = this.#sseReader((message as { id?: unknown }).id, 0);
          dec = new StringDecoder("utf8");
        }
        if (mode !== "error") resolve?.();
        if (
          mode === "skip" &&
          (message as { method?: string }).method === "notifications/initialized"
        )
          this.#openGet(0);
      },
      data: (c) => {
        if (mode === "sse") sse!.push(dec!.write(c));
        else if (mode !== "skip") {
          if (one === undefined) one = c;
          else (chunks ??= [one]).push(c);
        }
      },
      end: (complete) => {
        const body = chunks !== undefined ? Buffer.concat(chunks) : one;
        if (mode === "sse") {
          const rest = dec!.end();
          if (rest !== "") sse!.push(rest);
          sse!.end();
        } else if (mode === "error") {
          const e = new Error(
            `upstream answered HTTP ${status}: ${(body?.toString("utf8") ?? "").slice(0, 300)}`,
          );
          this.onerror?.(e);
          reject(e);
        } else if (mode === "json" && body !== undefined) {
          if (complete) this.#deliver(body.toString("utf8"));
          else
            this.onerror?.(new Error("upstream closed the connection in the middle of an answer"));
        }
      },
      error: (e) => {
        this.onerror?.(e);
        reject(e);
      },
    });
  }

  /** POST with node:http (https upstreams, or headers the raw path does not take). */
  #sendNode(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.#request(
        {
          ...this.#opts,
          method: "POST",
          agent: this.#agent,
          headers: this.#headersFor("application/json, text/event-stream", true),
        },
        (res) => {
          const sid = res.headers["mcp-session-id"];
          if (typeof sid === "string") this.#session = sid;
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (text += c));
            res.on("end", () => {
              const e = new Error(`upstream answered HTTP ${status}: ${text.slice(0, 300)}`);
              this.onerror?.(e);
              reject(e);
            });
            return;
          }
          resolve();
          if (status === 202 || status === 204) {
            res.resume();
            if ((message as Message & { method?: string }).method === "notifications/initialized")
              this.#openGet(0);
            return;
          }
          if ((res.headers["content-type"] ?? "").includes("text/event-stream"))
            return this.#sse(res, (message as { id?: unknown }).id);
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (chunks.length > 0) this.#deliver(Buffer.concat(chunks).toString("utf8"));
          });
        },
      );
      req.on("error", (e) => {
        this.onerror?.(e);
        reject(e);
      });
      req.end(JSON.stringify(message));
    });
  }

  /** The standalone stream for server messages not tied to a request (405: the server has none). */
  #openGet(attempt: number): void {
    if (this.#closed || this.#session === undefined) return;
    const req = this.#request(
      {
        ...this.#opts,
        method: "GET",
        agent: this.#agent,
        headers: this.#headersFor("text/event-stream", false),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return;
        }
        this.#sse(res);
        res.on("close", () => {
          if (this.#get === req) this.#get = undefined;
          if (!this.#closed && attempt < GET_RETRIES)
            setTimeout(() => this.#openGet(attempt + 1), 500 * 2 ** attempt).unref();
        });
      },
    );
    req.on("error", () => {});
    req.end();
    this.#get = req;
  }

  /** End the upstream session (DELETE); a 405 answer is fine. */
  async terminateSession(): Promise<void> {
    if (this.#session === undefined || this.#closed) return;
    await new Promise<void>((resolve) => {
      const req = this.#request(
        {
          ...this.#opts,
          method: "DELETE",
          agent: this.#agent,
          headers: this.#headersFor("application/json", false),
        },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", () => resolve());
      req.setTimeout(2000, () => req.destroy());
      req.end();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#get?.destroy();
    this.#agent.destroy();
    this.#pool?.close();
    this.onclose?.();
  }
}
