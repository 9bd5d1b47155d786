/**
 * The seed's WebAssembly plugin metrics (docs/admin.md, "Metrics"), registered in the process's
 * one prom-client registry (the cli hands the same registry to the gateway's metrics). They are
 * the registry's observer: the plugin registry reports, this counts.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { RegistryObserver } from "../rules/registry/index.js";

export class WasmMetrics implements RegistryObserver {
  readonly invocations: Counter;
  readonly errors: Counter;
  readonly duration: Histogram;
  readonly registered: Gauge;
  readonly memory: Gauge;
  readonly checks: Counter;
  readonly checkSeconds: Histogram;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.invocations = new Counter({
      name: "wasm_invocations_total",
      help: "WebAssembly plugin invocations (rules and tests), per plugin.",
      labelNames: ["plugin"],
      registers,
    });
    this.errors = new Counter({
      name: "wasm_invocation_errors",
      help: "Failed plugin invocations, per plugin and sandbox code (timeout, memory_exceeded, trap, ...).",
      labelNames: ["plugin", "code"],
      registers,
    });
    this.duration = new Histogram({
      name: "wasm_invocation_duration_us",
      help: "Plugin invocation latency in microseconds.",
      buckets: [1, 5, 10, 25, 50, 100, 250, 1000, 10_000, 100_000, 1_000_000],
      registers,
    });
    this.registered = new Gauge({
      name: "wasm_plugins_registered",
      help: "Plugins registered now.",
      registers,
    });
    this.memory = new Gauge({
      name: "wasm_memory_used_bytes",
      help: "Linear memory held by the plugins' instances, in bytes.",
      registers,
    });
    this.checks = new Counter({
      name: "warden_admin_checks_total",
      help: "Decisions answered by POST /v1/check, by decision.",
      labelNames: ["decision"],
      registers,
    });
    this.checkSeconds = new Histogram({
      name: "warden_admin_check_seconds",
      help: "Time to judge one POST /v1/check action (policy and rules).",
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.05],
      registers,
    });
  }

  invoked(plugin: string, ok: boolean, durationUs: number, code?: string): void {
    // past 256 plugins names are refused, so the plugin label is bounded
    this.invocations.inc({ plugin });
    if (!ok) this.errors.inc({ plugin, code: code ?? "error" });
    this.duration.observe(durationUs);
  }

  changed(count: number, memoryBytes: number): void {
    this.registered.set(count);
    this.memory.set(memoryBytes);
  }
}
