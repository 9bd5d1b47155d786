/**
 * What a downstream session is given and what its parts share: where its messages to the
 * client go (`Downstream`), what it needs from the gateway (`GatewayContext`), who it is
 * (`SessionIdentity`), an upstream's answer with its exact text (`UpstreamAnswer`), and the
 * named parts a session is composed of (`SessionParts`, see session.ts).
 */
import type { HostCalls } from "../hosted/host-calls.js";
import type { Principal } from "../identity/index.js";
import type { MessageTracing } from "../telemetry/index.js";
import type { AuditEntry, AuditLog } from "./audit.js";
import type { MessageLimits, RestartConfig, UpstreamConfig } from "./config-types.js";
import type { ErrorResponse, Id, Message, ResultResponse } from "./jsonrpc.js";
import type { Judges } from "./judges.js";
import type { SessionAudit } from "./session-audit.js";
import type { Calls } from "./session-calls.js";
import type { SessionJudges } from "./session-judges.js";
import type { SessionLinks } from "./session-links.js";
import type { SharedUpstream } from "./shared-upstream.js";
import type { ExchangeConnect } from "./upstream-exchange.js";
import type { UpstreamLink } from "./upstream-link.js";
import type { Received } from "./upstream-transport.js";

/** Where a session's messages to the client go (a stdio or HTTP front). */
export interface Downstream {
  readonly transport: "stdio" | "http";
  readonly host?: string;
  /**
   * Who the client is, as the front established it (never a name the client picked itself):
   * over stdio the config's `caller` (default "stdio"); over HTTP the name of the token the
   * client authenticated with, or "anonymous" without tokens. Rate limits count per caller.
   */
  readonly caller: string;
  /**
   * HTTP with auth.oauth: the access token of the latest request (its subject is `caller`),
   * with the groups and scopes the policy's `callers` judge, and the token a token exchange
   * for an upstream trades (never sent to an upstream itself).
   */
  readonly principal?: Principal;
  /** The session id the client knows (HTTP), if any. */
  readonly sessionId?: string;
  /**
   * Send to the client; `related` is the client request this message belongs to, if any;
   * `json`, when given, is `m` already serialized (an upstream's answer forwarded as is).
   */
  send(m: Message, related?: Id, json?: string): void;
}

/** What a session needs from the gateway; getters so reloads are seen at once. */
export interface GatewayContext {
  readonly upstreams: readonly UpstreamConfig[];
  readonly restart: RestartConfig;
  /** Message limits (default MESSAGE_LIMITS). */
  readonly limits?: MessageLimits;
  judges(): Judges;
  audit(): AuditLog | undefined;
  policyFile(): string;
  log(line: string): void;
  /** Called for every decision (metrics); the audit file is written separately. */
  decided?(rec: AuditEntry, ends: boolean): void;
  readonly version: string;
  /** The config's caller_includes_client_name (see GatewayConfig). */
  readonly callerIncludesClientName?: boolean;
  /** The gateway's shared connection to an upstream with `sessions: shared`, if it is one. */
  shared?(cfg: UpstreamConfig): SharedUpstream | undefined;
  /** Connects an HTTP upstream with token_exchange for a session (upstream-exchange.ts). */
  exchangeConnect?: ExchangeConnect;
  /** Told of each upstream link a session makes (the gateway's upstream health follows it). */
  linkMade?(link: UpstreamLink): void;
  /** The host calls of a component upstream's tool call (metrics; the audit is written apart). */
  hostCalls?(upstream: string, calls: HostCalls): void;
  /** telemetry.otlp: client messages handled with their trace context (docs/telemetry.md). */
  readonly tracing?: MessageTracing;
}

/** Who a session is, as its audit lines and judged calls name it (client and caller: at initialize). */
export interface SessionIdentity {
  /** The Mcp-Session-Id over HTTP; a fresh UUID over stdio. */
  readonly id: string;
  /** The clientInfo name@version of initialize (self-chosen: informative only). */
  client: string;
  /** Who asks: the front's authenticated caller (plus the client's name when configured). */
  caller: string;
  /** True once the session is closing: calls still pending are cut off. */
  readonly closed: boolean;
}

export type Answer = ResultResponse | ErrorResponse;
/** What a call ends with when it was cancelled (by the client, or by the session closing). */
export const CANCELLED = Symbol("cancelled");

/**
 * An upstream's answer to a call: the transport's `Received` (its exact text in `raw` when the
 * transport kept it, so an answer can be forwarded without serializing it again), or an answer
 * the gateway made itself (a timeout, an unavailable upstream, an invalid result; `raw` unset).
 */
export interface UpstreamAnswer extends Received {
  readonly message: Answer;
}

/** The parts a session is composed of, as the request handlers outside session.ts get them. */
export interface SessionParts {
  readonly ctx: GatewayContext;
  readonly down: Downstream;
  readonly who: SessionIdentity;
  /** The session's upstream links, their capabilities and the public names. */
  readonly links: SessionLinks;
  /** The calls in flight upstream (ids, timeouts, progress, cancellation). */
  readonly calls: Calls;
  /** The session's audit lines, and the refusals whose answer and line go together. */
  readonly audit: SessionAudit;
  /** The judged calls (core Calls through the chain of their phase). */
  readonly judges: SessionJudges;
}
