/**
 * A bounded batching span processor: spans wait in a queue of at most `maxQueue` and go out in
 * batches of at most `maxBatch`, one export request at a time, at most `delayMs` after the first
 * of a batch ended. When the queue is full a span is dropped and counted; a batch the collector
 * refused, answered with garbage or did not answer within the deadline is counted as dropped too.
 * Nothing here waits on the collector from the caller's side: `onEnd` only pushes to an array.
 *
 * The SDK's BatchSpanProcessor does the same but only logs what it drops: the gateway counts
 * drops in /metrics (warden_telemetry_spans_dropped_total), so it keeps its own counts.
 */
import type { Context } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import type {
  ReadableSpan,
  Span,
  SpanExporter,
  SpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** Why spans were dropped (the `reason` label of warden_telemetry_spans_dropped_total). */
export type DropReason = "queue_full" | "export_failed" | "export_timeout" | "shutdown";

export interface ProcessorCounts {
  exported: number;
  dropped: Record<DropReason, number>;
}

export interface BoundedOptions {
  maxQueue: number;
  maxBatch: number;
  delayMs: number;
  /** How long one export may take before its batch is given up (counted export_timeout). */
  exportDeadlineMs: number;
}

export class BoundedSpanProcessor implements SpanProcessor {
  readonly counts: ProcessorCounts = {
    exported: 0,
    dropped: { queue_full: 0, export_failed: 0, export_timeout: 0, shutdown: 0 },
  };
  #queue: ReadableSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The export in flight, if any (resolves when it ended or was given up). */
  #inflight: Promise<void> | undefined;
  #closed = false;

  constructor(
    readonly exporter: SpanExporter,
    readonly opts: BoundedOptions,
  ) {}

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.#closed) {
      this.counts.dropped.shutdown++;
      return;
    }
    if (this.#queue.length >= this.opts.maxQueue) {
      this.counts.dropped.queue_full++;
      return;
    }
    this.#queue.push(span);
    if (this.#inflight !== undefined) return; // the export in flight sends the rest after it
    if (this.#queue.length >= this.opts.maxBatch) this.#send();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#send();
      }, this.opts.delayMs);
      this.#timer.unref();
    }
  }

  /** Export one batch now, unless one is in flight; the next follows while the queue has spans. */
  #send(): void {
    if (this.#inflight !== undefined || this.#queue.length === 0) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#queue.splice(0, this.opts.maxBatch);
    this.#inflight = new Promise<void>((resolve) => {
      let done = false;
      const end = (ok: boolean, reason: DropReason = "export_failed") => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        if (ok) this.counts.exported += batch.length;
        else this.counts.dropped[reason] += batch.length;
        resolve();
      };
      const deadline = setTimeout(() => end(false, "export_timeout"), this.opts.exportDeadlineMs);
      deadline.unref();
      try {
        this.exporter.export(batch, (r) => end(r.code === ExportResultCode.SUCCESS));
      } catch {
        end(false);
      }
    }).then(() => {
      this.#inflight = undefined;
      if (this.#queue.length >= this.opts.maxBatch || (this.#closed && this.#queue.length > 0))
        this.#send();
      else if (this.#queue.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#send();
        }, this.opts.delayMs);
        this.#timer.unref();
      }
    });
  }

  /** Export everything queued now (each batch within its deadline). */
  async forceFlush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inflight !== undefined) {
      if (this.#inflight === undefined) this.#send();
      await this.#inflight;
    }
  }

  /**
   * Flush what is queued, giving up after `deadlineMs` (what is left is counted as dropped,
   * reason shutdown), then shut the exporter down.
   */
  async shutdown(deadlineMs = this.opts.exportDeadlineMs): Promise<void> {
    if (this.#closed) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, deadlineMs);
      timer.unref();
    });
    await Promise.race([this.forceFlush(), late]);
    clearTimeout(timer);
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.counts.dropped.shutdown += this.#queue.length;
    this.#queue = [];
    await Promise.race([this.exporter.shutdown().catch(() => {}), late]);
  }
}
