/**
 * The trace context of one client message, from its arrival to the last request the gateway
 * sends an upstream for it (docs/telemetry.md, "W3C trace context"):
 *
 * - its parent: the W3C trace context the client put in the message's `params._meta`
 *   (`traceparent`, `tracestate`: MCP's own place for it, SEP-414), else the one of its HTTP
 *   request's headers (propagation.ts), else none;
 * - the span its first own audit line makes (a decision, a refusal, a list, a notification passed
 *   on): reserved as soon as a request to an upstream needs its traceparent, which may be before
 *   the line is written (a list is audited once every upstream answered), so that the traceparent
 *   every upstream gets names the span the collector receives.
 *
 * Carried with an AsyncLocalStorage entered per client message; it ends when the message's
 * handling ends, so that nothing the upstreams do later (their own notifications, a restart)
 * inherits it through the connections opened while it was current.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import { parentFrom, spanContextHeaders } from "./propagation.js";

export interface CallScope {
  readonly parent: Context;
  /** The ids of the span of the message's first own line, once reserved or made. */
  ids: { traceId: string; spanId: string } | undefined;
  /** The traceparent (and tracestate) naming that span, as [name, value, ...]. */
  headers: string[] | undefined;
  /** Its first own line was written (the lines after it make spans of their own). */
  used: boolean;
  /** The message's handling ended. */
  done: boolean;
}

const scopes = new AsyncLocalStorage<CallScope>();

/** The scope of the client message being handled, if its handling has not ended. */
export function currentScope(): CallScope | undefined {
  const s = scopes.getStore();
  return s === undefined || s.done ? undefined : s;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The longest `_meta.traceparent` / `_meta.tracestate` read (longer ones are ignored). */
const MAX_TRACEPARENT = 256;
const MAX_TRACESTATE = 8192;

/**
 * The valid W3C trace context in a message's `params._meta`, parsed by the same propagator as
 * the HTTP headers (anything it does not accept, a value that is not a string or too long is
 * ignored), or undefined.
 */
export function metaParent(m: unknown): Context | undefined {
  const meta = isObj(m) && isObj(m.params) ? m.params._meta : undefined;
  if (!isObj(meta)) return undefined;
  const tp = meta.traceparent;
  if (typeof tp !== "string" || tp.length > MAX_TRACEPARENT) return undefined;
  const ts = meta.tracestate;
  const headers: Record<string, string> = { traceparent: tp };
  if (typeof ts === "string" && ts.length <= MAX_TRACESTATE) headers.tracestate = ts;
  return parentFrom(headers);
}

/** Run `fn` (the handling of one client message) in a scope whose parent is `parent`. */
export function inScope(parent: Context, fn: () => Promise<unknown> | undefined): void {
  const s: CallScope = { parent, ids: undefined, headers: undefined, used: false, done: false };
  const end = () => {
    s.done = true;
  };
  let p: Promise<unknown> | undefined;
  try {
    p = scopes.run(s, fn);
  } finally {
    if (p === undefined) end();
  }
  p?.then(end, end);
}

/**
 * The traceparent (and tracestate) of the scope's span, reserving its ids if no line made it
 * yet: the trace id of the parent (or a new one) and a new span id.
 */
export function scopeHeaders(s: CallScope, ids: () => { traceId: string; spanId: string }) {
  if (s.headers !== undefined) return s.headers;
  const parent = trace.getSpanContext(s.parent);
  const fresh = ids();
  s.ids = { traceId: parent?.traceId ?? fresh.traceId, spanId: fresh.spanId };
  const sc: SpanContext = { ...s.ids, traceFlags: TraceFlags.SAMPLED };
  if (parent?.traceState !== undefined) sc.traceState = parent.traceState;
  s.headers = spanContextHeaders(sc);
  return s.headers;
}

/**
 * `m` as it goes to an upstream: a request's or notification's `params._meta.traceparent` and
 * `tracestate` are the gateway's (`headers`), never what the client wrote there; without
 * `headers` the client's are removed. Anything else in `_meta` stays. `m` itself is not changed.
 */
export function withTraceMeta<M>(m: M, headers: readonly string[] | undefined): M {
  if (!isObj(m) || typeof m.method !== "string") return m;
  const params = m.params;
  if (params !== undefined && !isObj(params)) return m; // not MCP's: left as it is
  const meta = isObj(params) ? params._meta : undefined;
  if (headers === undefined && !(isObj(meta) && ("traceparent" in meta || "tracestate" in meta)))
    return m;
  const out: Obj = {};
  if (isObj(meta))
    for (const k of Object.keys(meta))
      if (k !== "traceparent" && k !== "tracestate") out[k] = meta[k];
  for (let i = 0; headers !== undefined && i + 1 < headers.length; i += 2)
    out[headers[i]!] = headers[i + 1];
  return { ...m, params: { ...(isObj(params) ? params : {}), _meta: out } } as M;
}
