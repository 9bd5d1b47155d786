/**
 * Spans from audit lines (docs/telemetry.md). The gateway's audit writer hands every line it
 * writes here (`record`), so the JSONL audit stays the one source of truth and a span says what
 * its line says:
 *
 * - a decision line whose outcome line follows (a forwarded call) starts its call's span, whose
 *   traceparent goes with the request to an HTTP upstream; the outcome line ends it;
 * - an event line of a call whose span is open (a hosted component's host call, a guard's trail)
 *   is a child span of it;
 * - every other line (a denial, a refusal, a list, a notification) is a span of its own, from the
 *   request's arrival (its line's duration_ms earlier) to now.
 *
 * A span's parent is the client's trace context: the message's `params._meta.traceparent`, else
 * its HTTP request's traceparent header (scope.ts). The span of a client message's first own
 * line takes the ids its scope reserved when a request to an upstream needed them first.
 */

import { randomUUID } from "node:crypto";
import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  type IdGenerator,
  RandomIdGenerator,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { AuditRecord } from "../audit/record.js";
import {
  callAttributes,
  errorMessage,
  isError,
  outcomeAttributes,
  spanName,
} from "./attributes.js";
import type { OtlpSettings } from "./config.js";
import { BoundedSpanProcessor, type ProcessorCounts } from "./processor.js";
import { clientContext, traceHeaders } from "./propagation.js";
import { currentScope, inScope, metaParent, scopeHeaders, withTraceMeta } from "./scope.js";

/** The resource attribute telling instances of one service apart (OpenTelemetry semconv). */
export const ATTR_SERVICE_INSTANCE_ID = "service.instance.id";

/**
 * What the gateway's sessions and upstream links call (src/mcp): a client message handled in its
 * scope, and each message to an upstream with its trace context.
 */
export interface MessageTracing {
  /** Handle one client message `m` (`fn`) with its trace context (scope.ts). */
  receive(m: unknown, fn: () => Promise<unknown> | undefined): void;
  /**
   * A message to an upstream and the trace headers its HTTP request carries: `trace` (the
   * forwarded call's), else those of the client message being handled, if any; the message's
   * `_meta` says the same (scope.ts, withTraceMeta).
   */
  outgoing<M>(m: M, trace: readonly string[] | undefined): [M, readonly string[] | undefined];
}

/** Random ids, except the ones handed over for the next span (a scope's reserved ids). */
class HandOffIds implements IdGenerator {
  readonly random = new RandomIdGenerator();
  next: { traceId: string; spanId: string } | undefined;
  generateTraceId(): string {
    return this.next?.traceId ?? this.random.generateTraceId();
  }
  generateSpanId(): string {
    return this.next?.spanId ?? this.random.generateSpanId();
  }
}

/** Calls in flight whose span is kept open; past it a call's span ends at its decision. */
export const MAX_OPEN_SPANS = 10_000;

/** Now, in milliseconds since the epoch, with the precision of performance.now(). */
const nowMs = () => performance.timeOrigin + performance.now();

export class CallTracer implements MessageTracing {
  readonly #provider: BasicTracerProvider;
  readonly #processor: BoundedSpanProcessor;
  readonly #tracer: ReturnType<BasicTracerProvider["getTracer"]>;
  /** The spans of forwarded calls, by call_id, until their outcome line. */
  readonly #open = new Map<string, Span>();
  readonly settings: OtlpSettings;
  readonly #ids = new HandOffIds();
  readonly #fresh = () => ({
    traceId: this.#ids.random.generateTraceId(),
    spanId: this.#ids.random.generateSpanId(),
  });

  /** `exporter`: where spans go (default: OTLP/HTTP JSON to `settings.url`). */
  constructor(settings: OtlpSettings, version: string, exporter?: SpanExporter) {
    this.settings = settings;
    const exp =
      exporter ??
      new OTLPTraceExporter({
        url: settings.url,
        headers: { ...settings.headers },
        timeoutMillis: settings.timeoutMs,
        concurrencyLimit: 1,
      });
    this.#processor = new BoundedSpanProcessor(exp, {
      maxQueue: settings.maxQueue,
      maxBatch: settings.maxBatch,
      delayMs: settings.delayMs,
      // the exporter's own deadline covers its retries; this one only frees a stuck queue
      exportDeadlineMs: settings.timeoutMs + 1000,
    });
    this.#provider = new BasicTracerProvider({
      // several gateway instances behind one load balancer send to one collector: each process
      // is told apart by service.instance.id, a random UUID (as the semantic conventions
      // advise) unless OTEL_RESOURCE_ATTRIBUTES names one; OTEL_RESOURCE_ATTRIBUTES' other
      // attributes are added; service.name and service.version are the gateway's
      resource: resourceFromAttributes({ [ATTR_SERVICE_INSTANCE_ID]: randomUUID() })
        .merge(resourceFromAttributes(envDetector.detect().attributes ?? {}))
        .merge(
          resourceFromAttributes({
            [ATTR_SERVICE_NAME]: settings.serviceName,
            [ATTR_SERVICE_VERSION]: version,
          }),
        ),
      // every judged call is recorded, whatever the client's sampled flag (the gateway audits)
      sampler: new AlwaysOnSampler(),
      idGenerator: this.#ids,
      spanProcessors: [this.#processor],
    });
    this.#tracer = this.#provider.getTracer("warden", version);
  }

  /** Spans exported and dropped so far (/metrics). */
  get counts(): ProcessorCounts {
    return this.#processor.counts;
  }

  /** Calls whose span is open now. */
  get openSpans(): number {
    return this.#open.size;
  }

  /**
   * One audit line. `open`: a decision line whose outcome line follows (a forwarded call): its
   * span stays open and the traceparent (and tracestate) headers naming it are returned, for the
   * request to the upstream.
   */
  record(rec: AuditRecord, open = false): string[] | undefined {
    const end = nowMs();
    if (rec.phase === "outcome") {
      const span = this.#open.get(rec.call_id);
      if (span !== undefined) {
        this.#open.delete(rec.call_id);
        span.setAttributes(outcomeAttributes(rec));
        this.#status(span, rec);
        span.end(end);
        return undefined;
      }
    }
    const call = rec.phase === "event" ? this.#open.get(rec.call_id) : undefined;
    const scope = currentScope();
    const base = scope?.parent ?? clientContext();
    const parent: Context = call === undefined ? base : trace.setSpan(base, call);
    // the message's first own line (not a guard's or host call's event) is the message's span
    const own =
      scope !== undefined &&
      !scope.used &&
      call === undefined &&
      (rec.phase !== "event" || rec.kind === "passthrough");
    const attributes = callAttributes(rec);
    if (rec.phase === "outcome") Object.assign(attributes, outcomeAttributes(rec));
    if (own) this.#ids.next = scope.ids;
    const span = this.#tracer.startSpan(
      spanName(rec),
      {
        kind: call === undefined ? SpanKind.SERVER : SpanKind.INTERNAL,
        startTime: end - rec.duration_ms,
        attributes,
      },
      parent,
    );
    this.#ids.next = undefined;
    if (own) {
      scope.used = true;
      scope.headers ??= traceHeaders(span);
    }
    if (open && rec.phase === "decision" && this.#open.size < MAX_OPEN_SPANS) {
      this.#open.set(rec.call_id, span);
      return own ? scope.headers : traceHeaders(span);
    }
    this.#status(span, rec);
    span.end(end);
    return undefined;
  }

  receive(m: unknown, fn: () => Promise<unknown> | undefined): void {
    inScope(metaParent(m) ?? clientContext(), fn);
  }

  outgoing<M>(m: M, trace: readonly string[] | undefined): [M, readonly string[] | undefined] {
    if (trace === undefined) {
      const s = currentScope();
      if (s !== undefined) trace = scopeHeaders(s, this.#fresh);
    }
    return [withTraceMeta(m, trace), trace];
  }

  #status(span: Span, rec: AuditRecord): void {
    if (isError(rec)) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(rec) });
  }

  /**
   * End the spans still open (their calls are cut off by the stop), flush, and stop the exporter,
   * giving up after `deadlineMs` (what is left is counted as dropped).
   */
  async shutdown(deadlineMs = this.settings.timeoutMs): Promise<void> {
    const end = nowMs();
    for (const span of this.#open.values()) {
      span.setAttribute("warden.outcome", "cut_off");
      span.end(end);
    }
    this.#open.clear();
    await this.#processor.shutdown(deadlineMs);
  }
}
