/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) at the gateway's edges, read and
 * written by OpenTelemetry's own W3CTraceContextPropagator (a standard parser: a traceparent
 * that is not exactly `00-<32 hex>-<16 hex>-<2 hex>`, all-zero ids, a version ff, or anything it
 * cannot parse is ignored, never an error; tracestate is parsed member by member and bounded).
 *
 * A client's trace context is carried to the audit lines its request makes with an
 * AsyncLocalStorage, entered only for a request that carries a valid traceparent (a gateway
 * whose clients send none pays nothing for it).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingHttpHeaders } from "node:http";
import { type Context, ROOT_CONTEXT, type Span, type SpanContext, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

const propagator = new W3CTraceContextPropagator();
const incoming = new AsyncLocalStorage<Context>();

const getter = {
  get: (h: IncomingHttpHeaders, key: string) => h[key],
  keys: (h: IncomingHttpHeaders) => Object.keys(h),
};

/**
 * Run `fn` (the handling of one client HTTP request) with the client's trace context, when its
 * headers carry a valid traceparent; otherwise just run it.
 */
export function withClientTrace(headers: IncomingHttpHeaders, fn: () => void): void {
  let ctx: Context = ROOT_CONTEXT;
  if (headers.traceparent !== undefined)
    try {
      ctx = propagator.extract(ROOT_CONTEXT, headers, getter);
    } catch {
      // whatever a hostile header does to the parser, the request is served, untraced
    }
  if (trace.getSpanContext(ctx) === undefined) fn();
  else incoming.run(ctx, fn);
}

/** The trace context of the client request being handled (ROOT_CONTEXT: none). */
export function clientContext(): Context {
  return incoming.getStore() ?? ROOT_CONTEXT;
}

const setter = {
  set: (out: string[], key: string, value: string) => {
    out.push(key, value);
  },
};

/** The traceparent (and tracestate) headers naming `span`, as a flat [name, value, ...] list. */
export function traceHeaders(span: Span): string[] {
  const out: string[] = [];
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, setter);
  return out;
}

/** The traceparent (and tracestate) headers naming `sc`, as a flat [name, value, ...] list. */
export function spanContextHeaders(sc: SpanContext): string[] {
  return traceHeaders(trace.wrapSpanContext(sc));
}

const plain = {
  get: (h: Record<string, string>, key: string) => h[key],
  keys: (h: Record<string, string>) => Object.keys(h),
};

/**
 * The context whose parent is the trace context of `headers` (traceparent, tracestate: read by
 * the same propagator as a request's headers), or undefined when it carries no valid one.
 */
export function parentFrom(headers: Record<string, string>): Context | undefined {
  try {
    const ctx = propagator.extract(ROOT_CONTEXT, headers, plain);
    return trace.getSpanContext(ctx) === undefined ? undefined : ctx;
  } catch {
    return undefined; // whatever a hostile value does to the parser: no parent from it
  }
}
