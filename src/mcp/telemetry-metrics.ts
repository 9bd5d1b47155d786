/**
 * /metrics of telemetry.otlp: spans exported to the collector and spans dropped, by reason
 * (queue_full: the collector is down or slow and the queue is at max_queue; export_failed: it
 * refused a batch or answered garbage; export_timeout: it did not answer within timeout_ms;
 * shutdown: still queued when the gateway stopped). Read at each scrape.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { DropReason, ProcessorCounts } from "../telemetry/index.js";

export function telemetryMetrics(
  registry: Registry,
  counts: () => ProcessorCounts,
  open: () => number,
): void {
  new Counter({
    name: "warden_telemetry_spans_exported_total",
    help: "Spans of judged calls the OpenTelemetry collector accepted.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counts().exported);
    },
  });
  new Counter({
    name: "warden_telemetry_spans_dropped_total",
    help: "Spans of judged calls not exported, by reason: queue_full, export_failed, export_timeout, shutdown.",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      const d = counts().dropped;
      for (const r of Object.keys(d) as DropReason[]) this.inc({ reason: r }, d[r]);
    },
  });
  new Gauge({
    name: "warden_telemetry_open_spans",
    help: "Forwarded calls whose span is open (waiting for their outcome).",
    registers: [registry],
    collect() {
      this.set(open());
    },
  });
}
