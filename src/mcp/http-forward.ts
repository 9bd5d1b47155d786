/**
 * Session routing between gateway instances (docs/scale-out.md): a Streamable HTTP request
 * naming a session this instance does not hold is looked up in the shared session directory
 * (state.redis, src/state/sessions.ts) and forwarded to the instance that owns it, on undici,
 * streaming both ways (SSE included), bounded: the body by listen.http.max_body_bytes, the
 * owner's head by state.sessions.forward_timeout_ms (504), the forwards in flight by
 * state.sessions.max_forwards. An owner whose instance URL is https must present a certificate
 * that verifies against state.sessions.tls.ca (else Node's trust store) for its URL's host, or
 * nothing is sent to it (502). A forward refused or failed there is audited naming the owner. The owner
 * judges the request as any other (its Host, Origin and Authorization travel with it: it is the
 * same deployment, never an upstream). One hop only: a forwarded request carries
 * `warden-forwarded` and is never forwarded again. An owner that cannot be reached is gone:
 * its record is removed and the client gets the spec's 404, so it initializes again.
 */

import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { Agent, type Dispatcher } from "undici";
import type { StateCode } from "../state/codes.js";
import { methodOf, NO_METHOD, type Refusal } from "./audit.js";
import type { McpCode } from "./codes.js";
import { fail } from "./http-checks.js";
import { readBody } from "./http-server.js";
import { INVALID_REQUEST } from "./jsonrpc.js";

/** The hop header: set on a forwarded request; such a request is never forwarded again. */
export const HOP_HEADER = "warden-forwarded";
/** state.sessions.max_forwards by default: forwarded requests in flight (SSE streams count). */
export const MAX_FORWARDS = 256;
/** How long a new session waits for its record before it is answered anyway. */
const REGISTER_WAIT_MS = 2000;
/**
 * state.sessions.forward_timeout_ms by default: the owner must send its response head within
 * this (a POST's answer may take a tool call's time: above upstreams' default 60 s).
 */
export const FORWARD_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 5000;
/**
 * Owners looked up and verified, kept so that a session's next forwarded request costs no Redis
 * round trip and no HMAC (bench/scaleout.bench.ts): a session never changes owner, so an entry
 * is only dropped when the owner says it does not hold the session (404), cannot be reached,
 * or the entry is older than the record's TTL. Bounded: the oldest entries leave first.
 */
const OWNER_CACHE = 4096;
/** Headers that belong to one connection (RFC 9110 7.6.1), never copied across a hop. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "expect",
  HOP_HEADER,
]);
/**
 * Errors of undici that mean nothing listens at the owner's address, or its name no longer
 * exists: the owner process is gone, and its sessions with it (they live in its memory; an
 * instance restarted there does not hold them). 404: the client initializes again.
 */
const GONE = new Set(["ECONNREFUSED", "ENOTFOUND"]);
/**
 * Errors of undici that mean the owner could not be reached now (no route, no answer to the
 * connection, a name that does not resolve now): it may be alive behind a transient failure,
 * still holding the session, so the client gets 503 with Retry-After and the record is kept. A
 * dead owner stops refreshing its record: it expires within state.sessions.ttl_seconds, and the
 * answer becomes 404 session_unknown.
 */
const UNREACHABLE = new Set([
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
]);
/**
 * Errors of a TLS handshake whose peer certificate does not verify (OpenSSL's verify results
 * as Node names them, and a certificate that does not name the host): the owner is not trusted.
 */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_CHAIN_TOO_LONG",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);

/**
 * The shared session directory as the front sees it (src/state/sessions.ts implements it on
 * Redis). `self` is this instance's own MCP endpoint as the others reach it.
 */
export interface SessionRoutes {
  readonly self: string;
  /** How long a record lives without a refresh (ms). */
  readonly ttlMs: number;
  /** Whether `id` could be a session of a gateway at all (the shape instances make). */
  plausible(id: string): boolean;
  /** Record that this instance owns `id`. Rejects when the directory cannot be written. */
  register(id: string): Promise<void>;
  /** Write the records of these live sessions again (TTL refresh; recovers lost records). */
  refresh(ids: readonly string[]): Promise<void>;
  /**
   * The endpoint of the instance owning `id`, undefined when none records it (or a record is
   * not one an instance signed). Rejects when the directory cannot be read.
   */
  owner(id: string): Promise<string | undefined>;
  /** Remove the record of `id` if it still names `url`. */
  forget(id: string, url: string): Promise<void>;
}

export class SessionForwarder {
  readonly #agent: Agent;
  /** How long the owner may take to send its answer's head (ms). */
  readonly #timeout: number;
  #inFlight = 0;
  /** Session id -> its owner's endpoint and when that was read (OWNER_CACHE). */
  readonly #owners = new Map<string, { url: string; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  /** The last refresh failed (its line was logged). */
  #failing = false;
  readonly #pending = new Set<Promise<void>>();
  /** Called with a line for the gateway's log (stderr). */
  log: (line: string) => void = () => {};

  constructor(
    readonly routes: SessionRoutes,
    readonly opts: {
      /** listen.http.max_body_bytes: a forwarded POST's body at most. */
      readonly maxBody: number;
      /** state.sessions.max_forwards. */
      readonly maxForwards: number;
      /** The ids of the sessions this instance holds now (for the refresh). */
      readonly live: () => Iterable<string>;
      /** Told each request refused because the directory cannot be read (for /metrics). */
      readonly unavailable?: () => void;
      /** state.sessions.forward_timeout_ms (default FORWARD_TIMEOUT_MS). */
      readonly forwardTimeoutMs?: number;
      /** state.sessions.tls.ca's PEM: https owners must chain to it (else Node's trust store). */
      readonly ca?: string;
      /** A forward that failed at or before the owner: its audit line, for `caller`. */
      readonly refused?: (r: Refusal, caller: string) => void;
    },
  ) {
    this.#timeout = opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.#agent = new Agent({
      connections: opts.maxForwards,
      pipelining: 1,
      keepAliveTimeout: 4000,
      keepAliveTimeoutThreshold: 2000,
      maxHeaderSize: 16 * 1024,
      headersTimeout: this.#timeout,
      // https owners: their certificate must verify (never rejectUnauthorized: false), against
      // the configured CA alone when there is one
      connect: {
        timeout: CONNECT_TIMEOUT_MS,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      },
    });
  }

  /** Refresh this instance's records every third of their TTL. */
  start(): void {
    this.#timer = setInterval(() => this.refreshNow(), this.#period);
    this.#timer.unref();
  }

  get #period(): number {
    return Math.max(100, Math.floor(this.routes.ttlMs / 3));
  }

  /** Write the records of every session this instance holds (e.g. when Redis is back). */
  refreshNow(): void {
    const ids = [...this.opts.live()];
    if (ids.length === 0) return;
    this.routes.refresh(ids).then(
      () => {
        this.#failing = false;
      },
      (e: Error) => {
        // one line per outage, not one per attempt
        if (!this.#failing)
          this.log(
            `session directory: cannot refresh ${ids.length} session record(s): ${e.message}; other instances cannot forward to them until it recovers (retried every ${this.#period} ms)`,
          );
        this.#failing = true;
      },
    );
  }

  /**
   * A session was opened here: record it, so that the other instances find it. Resolves once
   * written or failed (bounded): a new session is served either way, and a record that could
   * not be written is written by the next refresh.
   */
  opened(id: string): Promise<void> {
    const write = this.routes.register(id).catch((e: Error) => {
      this.log(
        `session directory: cannot record session ${id}: ${e.message}; it is served here, and other instances find it once the directory is back`,
      );
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, REGISTER_WAIT_MS);
    });
    return Promise.race([write, late]).finally(() => clearTimeout(timer));
  }

  /** A session of this instance ended: remove its record (without waiting for it). */
  ended(id: string): void {
    const p = this.routes
      .forget(id, this.routes.self)
      .catch((e: Error) =>
        this.log(
          `session directory: cannot remove the record of session ${id}: ${e.message}; it expires within ${this.routes.ttlMs} ms`,
        ),
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /**
   * `req` names session `id`, which this instance does not hold: forward it to its owner, or
   * answer 404 (no owner), 503 (the directory is down, or too many forwards) or 502/504.
   */
  handle(req: IncomingMessage, res: ServerResponse, id: string, caller: string) {
    // only ids of the shape instances make are named in the audit line (a hostile one is not)
    const session = this.routes.plausible(id) ? id : undefined;
    const refuse = (r: Refused, body?: Buffer) => {
      this.opts.refused?.(
        {
          method: methodIn(body),
          code: r.code,
          reason: r.message,
          ...(session === undefined ? {} : { session }),
        },
        caller,
      );
      fail(res, r.status, r.message, r.rpc ?? INVALID_REQUEST, r.headers ?? {}, {
        warden: r.code,
      });
    };
    if (this.#inFlight >= this.opts.maxForwards)
      return refuse({
        status: 503,
        code: "session_forward_busy",
        message: `Service Unavailable: ${this.opts.maxForwards} requests are being forwarded to other gateway instances, the limit (state.sessions.max_forwards); retry shortly.`,
        headers: { "retry-after": "1" },
      });
    this.#inFlight++;
    let counted = true;
    const done = () => {
      if (counted) this.#inFlight--;
      counted = false;
    };
    res.once("close", done);
    const go = (body: Buffer | undefined) => {
      if (session === undefined) return refuse(UNKNOWN, body);
      if (req.headers[HOP_HEADER] !== undefined) {
        // sent here by another instance, and not here: a record naming this instance is stale
        this.ended(id);
        return refuse(UNKNOWN, body);
      }
      this.#owner(id).then(
        (url) => {
          if (res.destroyed) return;
          if (url === undefined) return refuse(UNKNOWN, body);
          if (url === this.routes.self) {
            this.ended(id);
            return refuse(UNKNOWN, body);
          }
          this.#forward(req, res, id, url, body, refuse);
        },
        (e: Error) => {
          this.opts.unavailable?.();
          refuse(
            {
              status: 503,
              code: "state_unavailable",
              message: `Service Unavailable: session ${id} is not held by this gateway instance and the shared session directory (state.redis) cannot be read: ${e.message}. Retry shortly; sessions this instance holds are still served.`,
              headers: { "retry-after": "1" },
            },
            body,
          );
        },
      );
    };
    if (req.method === "POST") readBody(req, res, this.opts.maxBody, (b) => b && go(b));
    else go(undefined);
  }

  /** The owner of `id`: remembered (OWNER_CACHE), else read from the directory. */
  async #owner(id: string): Promise<string | undefined> {
    const known = this.#owners.get(id);
    if (known !== undefined && Date.now() - known.at < this.routes.ttlMs) return known.url;
    this.#owners.delete(id);
    const url = await this.routes.owner(id);
    if (url !== undefined && url !== this.routes.self) {
      if (this.#owners.size >= OWNER_CACHE) {
        const oldest = this.#owners.keys().next().value;
        if (oldest !== undefined) this.#owners.delete(oldest);
      }
      this.#owners.set(id, { url, at: Date.now() });
    }
    return url;
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    url: string,
    body: Buffer | undefined,
    refuse: (r: Refused, body?: Buffer) => void,
  ): void {
    const target = new URL(url);
    if (this.opts.ca !== undefined && target.protocol !== "https:") {
      // TLS between instances is configured: the client's body and Authorization never go
      // in clear text, whatever an instance advertised
      const reason = `Bad Gateway: session ${id} is held by the gateway instance ${url}, which is not https while state.sessions.tls.ca asks for TLS between instances; nothing was sent to it. Give that instance listen.http.tls or an https instance URL.`;
      this.#owners.delete(id);
      refuse({ status: 502, code: "session_forward_untrusted", message: reason }, body);
      return;
    }
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    // undici takes an emitter as the signal: no AbortController (and no DOMException made when
    // it fires) per forwarded request
    const abort = new EventEmitter();
    let aborted = false;
    const left = () => {
      aborted = true;
      abort.emit("abort");
    };
    res.once("close", left);
    const opts: Dispatcher.RequestOptions = {
      origin: target.origin,
      path: `${target.pathname}${q < 0 ? "" : raw.slice(q)}`,
      method: req.method as Dispatcher.HttpMethod,
      headers: forwardHeaders(req.headers),
      body: body ?? null,
      signal: abort,
      headersTimeout: this.#timeout,
      // an SSE stream (GET, or a POST that streams) may stay quiet for long: the owner's
      // session limits and the client's own connection bound it, not a timer here
      bodyTimeout: 0,
    };
    this.#agent.request(opts).then(
      (up) => {
        res.off("close", left);
        // the owner no longer holds it (ended, collected, restarted): look it up again next time
        if (up.statusCode === 404) this.#owners.delete(id);
        if (res.destroyed) return void up.body.destroy();
        res.writeHead(up.statusCode, answerHeaders(up.headers));
        if (String(up.headers["content-type"] ?? "").startsWith("text/event-stream"))
          res.flushHeaders();
        // piped by hand: stream.pipeline makes an AbortController per call and fires it at the
        // end (a DOMException each time), a measurable share of a forward's CPU
        up.body.on("error", () => res.destroy());
        res.on("error", () => up.body.destroy());
        res.once("close", () => {
          if (!up.body.readableEnded) up.body.destroy();
        });
        up.body.pipe(res);
      },
      (e: Error & { code?: string }) => {
        res.off("close", left);
        this.#owners.delete(id);
        if (res.destroyed || aborted) return;
        const why = `${e.code ?? "error"}: ${e.message}`;
        if (GONE.has(e.code ?? "")) {
          this.log(
            `session ${id}: its instance ${url} is gone (${e.code}); its record is removed and the client is told to initialize again`,
          );
          this.routes.forget(id, url).catch(() => {});
          return refuse(
            {
              status: 404,
              code: "session_owner_gone",
              rpc: -32001,
              message: `Session not found: session ${id} was held by the gateway instance ${url}, which is gone (${why}); its sessions ended with it. Initialize again.`,
            },
            body,
          );
        }
        if (UNREACHABLE.has(e.code ?? ""))
          return refuse(
            {
              status: 503,
              code: "session_owner_unreachable",
              message: `Service Unavailable: session ${id} is held by the gateway instance ${url}, which cannot be reached now (${why}); nothing was sent to it. Retry shortly: if that instance is gone, its session record expires within ${Math.round(this.routes.ttlMs / 1000)} s (state.sessions.ttl_seconds) and the answer becomes 404 (initialize again).`,
              headers: { "retry-after": "1" },
            },
            body,
          );
        const code: McpCode =
          e.code === "UND_ERR_HEADERS_TIMEOUT"
            ? "session_forward_timeout"
            : UNTRUSTED.has(e.code ?? "")
              ? "session_forward_untrusted"
              : "session_forward_failed";
        const reason =
          code === "session_forward_timeout"
            ? `Gateway Timeout: session ${id} is held by the gateway instance ${url}, which sent no answer within ${this.#timeout} ms (state.sessions.forward_timeout_ms). Retry, or initialize a new session.`
            : code === "session_forward_untrusted"
              ? `Bad Gateway: session ${id} is held by the gateway instance ${url}, whose TLS certificate does not verify (${e.code}: ${e.message}) against ${this.opts.ca === undefined ? "Node's trust store (state.sessions.tls.ca is not set)" : "state.sessions.tls.ca"}; nothing was sent to it. Fix that instance's certificate or the CA file.`
              : `Bad Gateway: session ${id} is held by the gateway instance ${url}, which failed: ${e.message}. Retry, or initialize a new session.`;
        refuse(
          { status: code === "session_forward_timeout" ? 504 : 502, code, message: reason },
          body,
        );
      },
    );
  }

  /** Stop refreshing, wait (bounded) for the records being removed, close the connections. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const wait = new Promise<void>((r) => setTimeout(r, REGISTER_WAIT_MS).unref());
    await Promise.race([Promise.allSettled([...this.#pending]), wait]);
    await this.#agent.destroy().catch(() => {});
  }
}

/** The method of a forwarded POST's body for its audit line (`-` without one: GET, DELETE). */
function methodIn(body: Buffer | undefined): string {
  if (body === undefined) return NO_METHOD;
  try {
    return methodOf(JSON.parse(body.toString("utf8")));
  } catch {
    return NO_METHOD;
  }
}

/** A forward refused here: the answer, and its audit line's code and reason. */
interface Refused {
  readonly status: number;
  readonly code: McpCode | StateCode;
  /** What the client is told, and the audit line's reason. */
  readonly message: string;
  /** The JSON-RPC error code (-32600 unless said). */
  readonly rpc?: number;
  readonly headers?: Record<string, string>;
}

/** The spec's answer to a session no instance holds: 404, initialize again. */
const UNKNOWN: Refused = {
  status: 404,
  code: "session_unknown",
  rpc: -32001,
  message: "Session not found: it ended or was collected as idle; initialize again.",
};

/** The client's headers for the owner (Host, Authorization included), plus the hop header. */
function forwardHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // headers the Connection header names belong to this connection too
  const named = new Set((h.connection ?? "").split(",").map((t) => t.trim().toLowerCase()));
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k) && !k.startsWith("proxy-"))
      out[k] = v;
  out[HOP_HEADER] = "1";
  return out;
}

/** The owner's response headers for the client (its Content-Length kept: the body is as sent). */
function answerHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && (k === "content-length" || !HOP_BY_HOP.has(k))) out[k] = v;
  return out;
}
