/**
 * A minimal HTTP/1.1 client for the upstream POSTs of the lean Streamable HTTP transport:
 * persistent plain `net.Socket`s to one host (a pool: one socket per request in flight, so a
 * slow tool call never holds up another), the request written in one piece, the response head
 * and body framing (content-length, chunked, or until close) parsed inline. Node's
 * `http.request` with an Agent costs about 0.1 to 0.25 ms per request on the reference VM
 * (ClientRequest/IncomingMessage objects, header validation, agent bookkeeping); this costs a
 * few µs. What the body means (JSON, SSE, an error) is the caller's business.
 */
import { connect, type Socket } from "node:net";
import { newHeaders, readFieldsLenient } from "./http-fields.js";

export interface RawResponse {
  status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export interface RawHandlers {
  head(r: RawResponse): void;
  data(chunk: Buffer): void;
  /** The body is complete (`complete`) or the connection ended before it was (`false`). */
  end(complete: boolean): void;
  /** No response came: connection refused, reset or closed before the head. */
  error(e: Error): void;
}

const HEAD_END = Buffer.from("\r\n\r\n");
/** How long an idle socket is kept when the server gives no Keep-Alive hint (Node's default server timeout is 5 s). */
const DEFAULT_IDLE_MS = 4000;
const MAX_HEAD = 64 * 1024;
/** The per-connection read buffer (`onread`); a larger answer arrives in several reads. */
const READ_BUFFER = 64 * 1024;
/** Sockets per upstream at most (as the node:http Agent had); further requests wait their turn. */
const MAX_SOCKETS = 256;

type Framing = "none" | "length" | "chunked" | "close";

class Conn {
  readonly socket: Socket;
  idleSince = 0;
  idleMs = DEFAULT_IDLE_MS;
  used = false;
  h: RawHandlers | undefined;
  /** Bytes of the current response seen (0: a failure may be retried on a fresh socket). */
  seen = 0;
  #buf: Buffer | undefined;
  #err: Error | undefined;
  #framing: Framing = "none";
  #left = 0;
  #keep = true;
  #inHead = true;
  #chunkState: "size" | "data" | "crlf" | "trailer" = "size";
  #keepAliveSeen: string | undefined;

  constructor(
    readonly pool: RawHttpPool,
    port: number,
    host: string,
  ) {
    // `onread`: bytes land in one buffer per connection and come to #data without the stream
    // machinery ('data' events, Readable state) of a plain socket, each read copied out of it.
    const into = Buffer.allocUnsafe(READ_BUFFER);
    this.socket = connect({
      port,
      host,
      noDelay: true,
      onread: {
        buffer: into,
        callback: (n: number, b: Uint8Array) => {
          this.#data(Buffer.from(b.subarray(0, n)));
          return true;
        },
      },
    });
    this.socket.on("error", (e) => (this.#err = e));
    this.socket.on("close", () => this.#closed());
  }

  start(h: RawHandlers, text: string): void {
    this.h = h;
    this.seen = 0;
    this.#inHead = true;
    this.#buf = undefined;
    this.socket.write(text);
  }

  #closed(): void {
    this.pool.forget(this);
    const h = this.h;
    this.h = undefined;
    if (h === undefined) return;
    if (this.#inHead)
      h.error(this.#err ?? new Error("the upstream closed the connection before answering"));
    else h.end(this.#framing === "close");
  }

  #data(b: Buffer): void {
    const h = this.h;
    if (h === undefined) return void this.socket.destroy();
    this.seen += b.length;
    let buf = this.#buf === undefined ? b : Buffer.concat([this.#buf, b]);
    this.#buf = undefined;
    if (this.#inHead) {
      const i = buf.indexOf(HEAD_END);
      if (i < 0) {
        if (buf.length > MAX_HEAD) return void this.#fail(h, "response head too large");
        this.#buf = buf;
        return;
      }
      const r = this.#parseHead(buf.toString("latin1", 0, i));
      if (r === undefined) return void this.#fail(h, "malformed response head");
      buf = buf.subarray(i + 4);
      if (r.status >= 100 && r.status < 200) {
        if (buf.length > 0) this.#data(buf);
        return;
      }
      this.#inHead = false;
      h.head(r);
      if (this.#framing === "none") return void this.#done(h, buf);
    }
    this.#body(h, buf);
  }

  #parseHead(text: string): RawResponse | undefined {
    // "HTTP/1.x NNN ..." read by char codes: no RegExp or split per response.
    if (!text.startsWith("HTTP/1.") || text.charCodeAt(8) !== 32) return undefined;
    const d0 = text.charCodeAt(9) - 48;
    const d1 = text.charCodeAt(10) - 48;
    const d2 = text.charCodeAt(11) - 48;
    if (!(d0 >= 1 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return undefined;
    const headers = newHeaders();
    readFieldsLenient(text, text.indexOf("\r\n"), headers);
    const status = d0 * 100 + d1 * 10 + d2;
    const conn = headers.connection === undefined ? "" : headers.connection.toLowerCase();
    this.#keep = text[7] === "1" ? !conn.includes("close") : conn.includes("keep-alive");
    const ka = headers["keep-alive"];
    if (ka !== undefined && ka !== this.#keepAliveSeen) {
      // servers send the same hint on every answer: read it once per connection
      this.#keepAliveSeen = ka;
      const m = /timeout=(\d+)/.exec(ka);
      if (m !== null) this.idleMs = Math.max(0, Number(m[1]) * 1000 - 1000);
    }
    const te = headers["transfer-encoding"]?.toLowerCase() ?? "";
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) this.#framing = "none";
    else if (te.includes("chunked")) {
      this.#framing = "chunked";
      this.#chunkState = "size";
    } else if (headers["content-length"] !== undefined) {
      this.#left = Number(headers["content-length"]);
      if (!Number.isSafeInteger(this.#left) || this.#left < 0) return undefined;
      this.#framing = this.#left === 0 ? "none" : "length";
    } else {
      this.#framing = "close";
      this.#keep = false;
    }
    return { status, headers };
  }

  #body(h: RawHandlers, buf: Buffer): void {
    if (this.#framing === "close") {
      if (buf.length > 0) h.data(buf);
      return;
    }
    if (this.#framing === "length") {
      if (buf.length < this.#left) {
        this.#left -= buf.length;
        if (buf.length > 0) h.data(buf);
        return;
      }
      if (this.#left > 0) h.data(buf.subarray(0, this.#left));
      return void this.#done(h, buf.subarray(this.#left));
    }
    // chunked
    let at = 0;
    while (at < buf.length) {
      if (this.#chunkState === "data") {
        const n = Math.min(this.#left, buf.length - at);
        h.data(buf.subarray(at, at + n));
        at += n;
        this.#left -= n;
        if (this.#left === 0) this.#chunkState = "crlf";
        continue;
      }
      const nl = buf.indexOf(10, at);
      if (nl < 0) break;
      const line = buf.toString("latin1", at, nl).trim();
      at = nl + 1;
      if (this.#chunkState === "crlf") {
        this.#chunkState = "size";
      } else if (this.#chunkState === "size") {
        const size = Number.parseInt(line.split(";")[0]!, 16);
        if (!Number.isFinite(size) || size < 0) return void this.#fail(h, "malformed chunk size");
        if (size === 0) this.#chunkState = "trailer";
        else {
          this.#left = size;
          this.#chunkState = "data";
        }
      } else if (line === "") return void this.#done(h, buf.subarray(at));
    }
    if (at < buf.length) this.#buf = buf.subarray(at);
  }

  #done(h: RawHandlers, rest: Buffer): void {
    this.h = undefined;
    if (rest.length > 0 || !this.#keep) this.socket.destroy();
    else this.pool.release(this);
    h.end(true);
  }

  #fail(h: RawHandlers, why: string): void {
    this.h = undefined;
    this.socket.destroy();
    if (this.#inHead) h.error(new Error(`upstream HTTP: ${why}`));
    else h.end(false);
  }
}

/**
 * Persistent connections to one host:port (at most MAX_SOCKETS; beyond that requests queue);
 * `request` writes a whole request and reads the answer.
 */
export class RawHttpPool {
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  /** Requests waiting for a socket once MAX_SOCKETS are busy. */
  readonly #queue: [string, RawHandlers][] = [];
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly maxSockets = MAX_SOCKETS,
  ) {}

  /**
   * Send `text` (a complete HTTP/1.1 request). A request that fails before any byte of answer
   * on a reused socket (the server closed it while idle) is sent once more on a fresh one.
   */
  request(text: string, h: RawHandlers): void {
    if (this.#closed) return void h.error(new Error("transport closed"));
    if (this.#idle.length === 0 && this.#all.size >= this.maxSockets) {
      this.#queue.push([text, h]);
      return;
    }
    this.#run(this.#take(), text, h);
  }

  #run(c: Conn, text: string, h: RawHandlers): void {
    const reused = c.used;
    c.used = true;
    if (!reused) return void c.start(h, text);
    c.start(
      {
        head: h.head,
        data: h.data,
        end: h.end,
        error: (e) => {
          if (c.seen > 0 || this.#closed) return void h.error(e);
          const f = this.#fresh();
          f.used = true;
          f.start(h, text);
        },
      },
      text,
    );
  }

  #fresh(): Conn {
    const c = new Conn(this, this.port, this.host);
    this.#all.add(c);
    return c;
  }

  #take(): Conn {
    const now = performance.now();
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!;
      if (now - c.idleSince < c.idleMs && !c.socket.destroyed) return c;
      c.socket.destroy();
    }
    return this.#fresh();
  }

  release(c: Conn): void {
    if (this.#closed) return void c.socket.destroy();
    const next = this.#queue.shift();
    if (next !== undefined) return void this.#run(c, next[0], next[1]);
    c.idleSince = performance.now();
    this.#idle.push(c);
  }

  forget(c: Conn): void {
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = this.#closed ? undefined : this.#queue.shift();
    if (next !== undefined) this.#run(this.#fresh(), next[0], next[1]);
  }

  close(): void {
    this.#closed = true;
    for (const [, h] of this.#queue.splice(0)) h.error(new Error("transport closed"));
    for (const c of this.#all) c.socket.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
