/** Prometheus metrics of the gateway (config `metrics: { path: /metrics }`, HTTP listen only). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuditEntry } from "./audit.js";

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: "warden_mcp_decisions_total",
    help: "Gateway decisions by method and decision.",
    labelNames: ["method", "decision"],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "warden_mcp_request_seconds",
    help: "Time from a judged request to its answer.",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: "warden_mcp_sessions",
    help: "Open downstream sessions.",
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "warden_mcp_reloads_total",
    help: "Config and policy reloads by outcome.",
    labelNames: ["outcome"],
    registers: [this.registry],
  });

  /** Decision lines count decisions; a call's time is observed once, when it ends. */
  record(rec: AuditEntry, ends: boolean): void {
    if (rec.phase === "decision")
      this.decisions.inc({ method: rec.method, decision: rec.decision });
    if (ends) this.duration.observe({ method: rec.method }, rec.duration_ms / 1000);
  }
}
