/**
 * The HTTP/1.1 server under the gateway's Streamable HTTP front, on plain `net` sockets: the
 * request head parsed by hand, the body (Content-Length or chunked, bounded) read whole
 * before the handler runs, the answer written with its head in one write, keep-alive and
 * pipelined requests answered in order. node:http's server costs about 70 µs of CPU per
 * request on the reference VM (IncomingMessage / ServerResponse streams, timers, events);
 * this costs a few µs. See docs/gateway.md, "HTTP front".
 *
 * Strict where a lenient parser would be a risk: one Host, no obs-fold, no space before a
 * colon, no bare CR or LF, Content-Length digits only (duplicates must agree), a
 * Transfer-Encoding other than `chunked` refused, and Content-Length with Transfer-Encoding
 * refused (request smuggling). Malformed requests get 400 (431 for a head over 16 KiB, 505
 * for a version other than 1.0/1.1) and the connection is closed.
 */
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { FieldError, newHeaders, readFieldsStrict } from "./http-fields.js";

export const MAX_HEAD = 16 * 1024;
const HEAD_TOO_LARGE = "the request head is over 16 KiB: send fewer or shorter headers";
const HEAD_END = Buffer.from("\r\n\r\n");
const KEEP_ALIVE_MS = 65_000;
/** A request head or body must arrive within this (slow clients hold no connection forever). */
const REQUEST_MS = 30_000;
const SWEEP_MS = 5_000;
const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const BAD_TARGET = /[\0-\x20\x7f]/;
const CLOSE = /(?:^|,)\s*close\s*(?:,|$)/i;
const KEEP_ALIVE = /keep-alive/i;
/** Response header names already checked (ours: a handful). */
const goodNames = new Set<string>();

function goodName(k: string): boolean {
  if (goodNames.has(k)) return true;
  if (!TCHAR.test(k)) return false;
  if (goodNames.size < 256) goodNames.add(k);
  return true;
}

/** No CR, LF or NUL in a response header value (a loop: values are short). */
function goodValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}
const STATUS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  202: "Accepted",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

let dateAt = 0;
let dateLine = "";
/** The Date header, made at most once a second. */
function date(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateLine = `date: ${new Date(dateAt).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** One request, its body already read (undefined when it was over the limit). */
export class LeanRequest {
  constructor(
    readonly method: string,
    readonly url: string,
    /** Names lower-cased; repeated headers joined with ", ". */
    readonly headers: Readonly<Record<string, string | undefined>>,
    readonly body: Buffer | undefined,
    readonly socket: Socket,
  ) {}

  /** The body was larger than the server's `maxBody` (the connection closes after the answer). */
  get tooLarge(): boolean {
    return this.body === undefined;
  }
}

/**
 * Response header lines checked and rendered once (`renderHeaders`), for answers that repeat
 * them: a session's JSON and SSE answers. Checking each name and value on every answer cost
 * a loop per header per answer; these are written as they are.
 */
export class RenderedHeaders {
  private constructor(
    readonly text: string,
    readonly hasLength: boolean,
  ) {}

  /** Check and render a flat [name, value, ...] list (throws on a bad name or value). */
  static of(flat: readonly string[]): RenderedHeaders {
    let h = "";
    let hasLength = false;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const k = flat[i]!;
      const v = flat[i + 1]!;
      if (!goodName(k) || !goodValue(v))
        throw new Error(`invalid response header ${JSON.stringify(k)}`);
      if (k.length === 14 && k.toLowerCase() === "content-length") hasLength = true;
      h += `${k}: ${v}\r\n`;
    }
    return new RenderedHeaders(h, hasLength);
  }
}

/**
 * The answer to one request, with the part of node:http's ServerResponse the front uses:
 * `writeHead` (a flat [name, value, ...] list or an object), `write`, `end`, `flushHeaders`,
 * `headersSent`, `destroyed`, `writableEnded`, and the events `finish` (written) and `close`
 * (done or the connection lost), each emitted once (no EventEmitter per answer: most have no
 * listener).
 */
export class LeanResponse {
  headersSent = false;
  writableEnded = false;
  statusCode = 200;
  /** The header lines given to writeHead, and whether they carry a Content-Length. */
  #lines = "";
  #hasLength = false;
  #headWritten = false;
  #chunked = false;
  #closed = false;
  #lost = false;
  #onClose: (() => void)[] | undefined;
  #onFinish: (() => void)[] | undefined;

  constructor(
    readonly conn: Conn,
    /** A HEAD request: never a body. */
    readonly noBody: boolean,
  ) {}

  on(event: "close" | "finish", fn: () => void): this {
    if (event === "close") {
      if (this.#closed) queueMicrotask(fn);
      else (this.#onClose ??= []).push(fn);
    } else (this.#onFinish ??= []).push(fn);
    return this;
  }

  once(event: "close" | "finish", fn: () => void): this {
    return this.on(event, fn);
  }

  #emit(list: (() => void)[] | undefined): void {
    if (list !== undefined) for (const fn of list) fn();
  }

  /** The connection went away before the answer ended. */
  get destroyed(): boolean {
    return this.#lost || this.conn.socket.destroyed;
  }

  writeHead(
    status: number,
    headers?: readonly string[] | Record<string, string> | RenderedHeaders,
  ): this {
    if (this.#headWritten) throw new Error("writeHead after the head was sent");
    this.statusCode = status;
    const r =
      headers instanceof RenderedHeaders
        ? headers
        : RenderedHeaders.of(
            headers === undefined
              ? []
              : Array.isArray(headers)
                ? (headers as readonly string[])
                : Object.entries(headers).flat(),
          );
    this.#lines = r.text;
    this.#hasLength = r.hasLength;
    return this;
  }

  /** The head, once: `length` is the body's byte length when the whole answer goes at once. */
  #head(length: number): string {
    this.#headWritten = true;
    this.headersSent = true;
    const status = this.statusCode;
    const bodyless = status === 204 || status === 304 || (status >= 100 && status < 200);
    let h = this.#lines;
    if (!this.#hasLength && !bodyless) {
      if (length >= 0) h += `content-length: ${length}\r\n`;
      else if (this.conn.http11) {
        this.#chunked = !this.noBody;
        if (this.#chunked) h += "transfer-encoding: chunked\r\n";
      } else this.conn.closeAfter = true;
    }
    const c = this.conn.closeAfter
      ? "connection: close\r\n"
      : "connection: keep-alive\r\nkeep-alive: timeout=65\r\n";
    return `HTTP/1.1 ${status} ${STATUS[status] ?? "Unknown"}\r\n${h}${date()}${c}\r\n`;
  }

  /** Send the head now (an SSE stream that has no event yet). */
  flushHeaders(): void {
    if (!this.#headWritten && !this.destroyed) this.conn.socket.write(this.#head(-1));
  }

  write(chunk: string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    const head = this.#headWritten ? "" : this.#head(-1);
    if (chunk.length === 0 || this.noBody) return head === "" || this.conn.socket.write(head);
    return this.conn.socket.write(head + this.#frame(chunk));
  }

  end(chunk?: string): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    if (this.destroyed) {
      this.#done();
      return this;
    }
    const text = chunk === undefined || this.noBody ? "" : chunk;
    let out: string;
    if (!this.#headWritten) out = this.#head(Buffer.byteLength(text)) + text;
    else out = text.length === 0 ? "" : this.#frame(text);
    if (this.#chunked) out += "0\r\n\r\n";
    const finished = this.#onFinish === undefined ? undefined : () => this.#emit(this.#onFinish);
    if (out.length > 0) this.conn.socket.write(out, finished);
    else if (finished !== undefined) queueMicrotask(finished);
    this.#done();
    return this;
  }

  #frame(chunk: string): string {
    return this.#chunked ? `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n` : chunk;
  }

  #done(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#emit(this.#onClose);
    this.conn.responded(this);
  }

  /** The connection closed before the answer ended. */
  lost(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lost = true;
    this.#emit(this.#onClose);
  }
}

type Handler = (req: LeanRequest, res: LeanResponse) => void;

/** One client connection: requests parsed and handled one at a time, in order. */
class Conn {
  buf: Buffer | undefined;
  /** The request being answered (further requests wait in `buf`). */
  res: LeanResponse | undefined;
  http11 = true;
  closeAfter = false;
  /** Bytes `buf` must hold before the request in it can be parsed (0: parse on every packet). */
  need = 0;
  #parts: Buffer[] = [];
  #partsLen = 0;
  /** A malformed request was refused: the connection reads nothing more. */
  dead = false;
  /** When the current partial request started (0: none), or when the connection went idle. */
  since = 0;
  idleSince = performance.now();

  constructor(
    readonly socket: Socket,
    readonly server: LeanHttpServer,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => this.#data(b));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      server.conns.delete(this);
      this.res?.lost();
      this.res = undefined;
    });
  }

  #data(b: Buffer): void {
    if (this.dead) return;
    if (this.need > 0) {
      // a body of known length still coming: keep its pieces, join them once (no copy per packet)
      this.#parts.push(b);
      this.#partsLen += b.length;
      if ((this.buf?.length ?? 0) + this.#partsLen < this.need) return;
      this.buf = Buffer.concat(this.buf === undefined ? this.#parts : [this.buf, ...this.#parts]);
      this.#parts = [];
      this.#partsLen = 0;
      this.need = 0;
    } else this.buf = this.buf === undefined ? b : Buffer.concat([this.buf, b]);
    if (this.res !== undefined) {
      // pipelined: wait for the answer in progress (and stop reading if a lot piles up)
      if (this.buf.length > MAX_HEAD + this.server.maxBody) this.socket.pause();
      return;
    }
    this.#parse();
  }

  responded(res: LeanResponse): void {
    if (this.res !== res) return;
    this.res = undefined;
    this.idleSince = performance.now();
    if (this.closeAfter) {
      // nothing after this answer is read (an unread oversize body, say)
      this.dead = true;
      this.buf = undefined;
      this.socket.end();
      return;
    }
    if (this.buf !== undefined) {
      this.socket.resume();
      this.#parse();
    }
  }

  /** Parse and dispatch complete requests from `buf` until one is being answered. */
  #parse(): void {
    while (this.buf !== undefined && this.res === undefined && !this.dead) {
      if (!this.#one()) return;
    }
  }

  /** One request from `buf`: false when more bytes are needed or the connection is done. */
  #one(): boolean {
    const buf = this.buf!;
    // a client may send empty lines between requests (RFC 9112 §2.2)
    let start = 0;
    while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
    const end = buf.indexOf(HEAD_END, start);
    if (end < 0) {
      if (buf.length - start > MAX_HEAD) return this.#reject(431, HEAD_TOO_LARGE);
      if (this.since === 0) this.since = performance.now();
      return false;
    }
    if (end - start > MAX_HEAD) return this.#reject(431, HEAD_TOO_LARGE);
    const head = parseHead(buf.toString("latin1", start, end));
    if ("why" in head) return this.#reject(head.status, head.why);
    const { method, url, headers, version } = head;
    this.http11 = version === 1;
    const conn = headers.connection;
    this.closeAfter =
      this.server.closing ||
      (conn === undefined || conn === "keep-alive"
        ? !this.http11
        : this.http11
          ? CLOSE.test(conn)
          : !KEEP_ALIVE.test(conn));
    let at = end + 4;
    let body: Buffer | undefined;
    const te = headers["transfer-encoding"];
    const maxBody = this.server.maxBody;
    if (te !== undefined) {
      if (headers["content-length"] !== undefined)
        return this.#reject(400, "Content-Length and Transfer-Encoding together: send one of them");
      if (te.toLowerCase().trim() !== "chunked")
        return this.#reject(
          501,
          `Transfer-Encoding "${te.slice(0, 40)}" is not served: use chunked or Content-Length`,
        );
      const r = dechunk(buf, at, maxBody);
      if (r === undefined) return this.#wait(buf, start, head.expects);
      if (r === "bad")
        return this.#reject(
          400,
          "the chunked body is malformed (chunk sizes in hex, each chunk followed by CRLF)",
        );
      if (r === "big") {
        this.closeAfter = true;
        body = undefined;
        at = buf.length;
      } else {
        body = r.body;
        at = r.end;
      }
    } else {
      const cl = headers["content-length"];
      const n = cl === undefined ? 0 : Number(cl);
      if (n > maxBody) {
        // answered without reading the body; the connection closes after the answer
        this.closeAfter = true;
        at = buf.length;
      } else if (buf.length - at < n) return this.#wait(buf, start, head.expects, at + n - start);
      else {
        body = buf.subarray(at, at + n);
        at += n;
      }
    }
    if (head.expects !== undefined && head.expects !== "100-continue")
      return this.#reject(
        417,
        `Expect "${head.expects.slice(0, 40)}" is not supported (only 100-continue)`,
      );
    this.buf = at >= buf.length ? undefined : buf.subarray(at);
    this.since = 0;
    const res = new LeanResponse(this, method === "HEAD");
    this.res = res;
    this.server.handler(new LeanRequest(method, url, headers, body, this.socket), res);
    return true;
  }

  /** The body is not all here yet: ask for it (Expect: 100-continue) and wait. */
  #wait(buf: Buffer, start: number, expects: string | undefined, need = 0): false {
    this.need = need;
    if (this.since === 0) {
      this.since = performance.now();
      if (expects === "100-continue") this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (start > 0) this.buf = buf.subarray(start);
    return false;
  }

  #reject(status: number, why: string): false {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: `${STATUS[status] ?? "Bad Request"}: ${why}.` },
    });
    this.buf = undefined;
    this.dead = true;
    this.socket.end(
      `HTTP/1.1 ${status} ${STATUS[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${date()}connection: close\r\n\r\n${body}`,
    );
    return false;
  }

  /** Close the connection when idle or stuck too long (called by the server's sweep). */
  sweep(now: number): void {
    if (this.res !== undefined) return;
    if (this.since > 0 ? now - this.since > REQUEST_MS : now - this.idleSince > KEEP_ALIVE_MS)
      this.socket.destroy();
  }
}

interface Head {
  method: string;
  url: string;
  version: 0 | 1;
  headers: Record<string, string>;
  expects: string | undefined;
}

/** Why a request head was refused: the HTTP status and what is wrong with it. */
export interface Refusal {
  status: number;
  why: string;
}

const refuse = (status: number, why: string): Refusal => ({ status, why });

const FIELD_REFUSALS: Record<FieldError, string> = {
  [FieldError.Malformed]:
    "a header line is malformed (name characters, a space before the colon, a folded line, or a bare CR, LF or NUL)",
  [FieldError.TwoHosts]: "more than one Host header",
  [FieldError.BadLength]: "Content-Length is not a decimal number",
  [FieldError.TwoLengths]: "two Content-Length headers that differ",
};

/** Parse a request head (without its final CRLFCRLF); a refusal naming the problem on failure. */
export function parseHead(text: string): Head | Refusal {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  const line = text.slice(0, eol);
  const sp1 = line.indexOf(" ");
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(" ", sp2 + 1) >= 0)
    return refuse(400, 'the request line must be "METHOD target HTTP/1.1", single spaces');
  const method = line.slice(0, sp1);
  const url = line.slice(sp1 + 1, sp2);
  const proto = line.slice(sp2 + 1);
  if (!TCHAR.test(method)) return refuse(400, "the method is not a token");
  if (url.length === 0 || BAD_TARGET.test(url))
    return refuse(400, "the request target has spaces or control characters");
  if (proto !== "HTTP/1.1" && proto !== "HTTP/1.0")
    return proto.startsWith("HTTP/")
      ? refuse(505, `${proto} is not served here: use HTTP/1.1`)
      : refuse(400, "the request line does not end in HTTP/1.1");
  const headers = newHeaders();
  const bad = readFieldsStrict(text, eol, headers);
  if (bad !== 0) return refuse(400, FIELD_REFUSALS[bad]);
  if (proto === "HTTP/1.1" && headers.host === undefined)
    return refuse(400, "HTTP/1.1 needs a Host header");
  const expect = headers.expect;
  return {
    method,
    url,
    version: proto === "HTTP/1.1" ? 1 : 0,
    headers,
    expects: expect === undefined ? undefined : expect.toLowerCase(),
  };
}

/**
 * A chunked body from `at`: the body and where the request ends, undefined when incomplete,
 * "bad" when malformed, "big" when over `max` bytes.
 */
export function dechunk(
  buf: Buffer,
  at: number,
  max: number,
): { body: Buffer; end: number } | "bad" | "big" | undefined {
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    const nl = buf.indexOf("\r\n", at, "latin1");
    if (nl < 0) return buf.length - at > 1024 ? "bad" : undefined;
    const line = buf.toString("latin1", at, nl);
    const semi = line.indexOf(";");
    const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) return "bad";
    const n = Number.parseInt(hex, 16);
    at = nl + 2;
    if (n === 0) {
      // trailers until an empty line
      for (;;) {
        const t = buf.indexOf("\r\n", at, "latin1");
        if (t < 0) return undefined;
        if (t === at) return { body: Buffer.concat(parts, size), end: t + 2 };
        if (t - at > MAX_HEAD) return "bad";
        at = t + 2;
      }
    }
    size += n;
    if (size > max) return "big";
    if (buf.length < at + n + 2) return undefined;
    if (buf[at + n] !== 13 || buf[at + n + 1] !== 10) return "bad";
    parts.push(buf.subarray(at, at + n));
    at += n + 2;
  }
}

export class LeanHttpServer {
  readonly server: Server;
  readonly conns = new Set<Conn>();
  closing = false;
  #sweep: NodeJS.Timeout | undefined;

  constructor(
    readonly handler: Handler,
    readonly maxBody: number,
  ) {
    this.server = createServer((s) => this.conns.add(new Conn(s, this)));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.#sweep = setInterval(() => {
          const now = performance.now();
          for (const c of this.conns) c.sweep(now);
        }, SWEEP_MS);
        this.#sweep.unref();
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stop listening and close every connection. */
  close(): Promise<void> {
    this.closing = true;
    if (this.#sweep) clearInterval(this.#sweep);
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
    return new Promise((r) => this.server.close(() => r()));
  }
}
