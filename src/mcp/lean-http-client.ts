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
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { invalidMessage, type Message } from "./jsonrpc.js";

const GET_RETRIES = 3;

export class LeanHttpClientTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onerror?: (e: Error) => void;
  onclose?: () => void;
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  #session: string | undefined;
  #protocol: string | undefined;
  #get: ClientRequest | undefined;
  #closed = false;

  constructor(url: URL, headers: Record<string, string> = {}) {
    this.#url = url;
    this.#headers = headers;
    const secure = url.protocol === "https:";
    this.#agent = secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 256 })
      : new HttpAgent({ keepAlive: true, maxSockets: 256 });
    this.#request = secure ? (httpsRequest as unknown as typeof httpRequest) : httpRequest;
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
    for (const m of Array.isArray(v) ? v : [v]) {
      const bad = invalidMessage(m);
      if (bad !== undefined) {
        this.onerror?.(new Error(`upstream sent an invalid JSON-RPC message: ${bad}`));
        continue;
      }
      const o = m as { id?: unknown; method?: unknown };
      if (answerOf !== undefined && o.id === answerOf && o.method === undefined) answered = true;
      this.onmessage?.(m as never);
    }
    return answered;
  }

  /**
   * Read an SSE body, delivering each event's data. When the stream of a POST ends before its
   * answer came and the server gave event ids, resume with GET + Last-Event-ID (SEP-1699).
   */
  #sse(res: IncomingMessage, answerOf?: unknown, attempt = 0): void {
    let buf = "";
    let lastId: string | undefined;
    let retry = 1000;
    let answered = false;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      let end = buf.search(/\r?\n\r?\n/);
      while (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(buf[end] === "\r" ? end + 4 : end + 2);
        let data = "";
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("data:"))
            data += (data ? "\n" : "") + line.slice(line[5] === " " ? 6 : 5);
          else if (line.startsWith("id:")) lastId = line.slice(3).trim();
          else if (line.startsWith("retry:")) retry = Number(line.slice(6).trim()) || retry;
        }
        if (data.trim() !== "" && this.#deliver(data, answerOf)) answered = true;
        end = buf.search(/\r?\n\r?\n/);
      }
    });
    res.on("close", () => {
      if (
        answerOf === undefined ||
        answered ||
        lastId === undefined ||
        this.#closed ||
        attempt >= GET_RETRIES
      )
        return;
      const id = lastId;
      setTimeout(() => this.#resume(id, answerOf, attempt + 1), retry).unref();
    });
  }

  #resume(lastId: string, answerOf: unknown, attempt: number): void {
    if (this.#closed) return;
    const headers = { ...this.#headersFor("text/event-stream", false), "last-event-id": lastId };
    const req = this.#request(this.#url, { method: "GET", agent: this.#agent, headers }, (res) => {
      if (res.statusCode !== 200) return void res.resume();
      this.#sse(res, answerOf, attempt);
    });
    req.on("error", (e) => this.onerror?.(e));
    req.end();
  }

  send(message: Parameters<Transport["send"]>[0]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("transport closed"));
    return new Promise((resolve, reject) => {
      const req = this.#request(
        this.#url,
        {
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
      this.#url,
      { method: "GET", agent: this.#agent, headers: this.#headersFor("text/event-stream", false) },
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
        this.#url,
        {
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
    this.onclose?.();
  }
}
