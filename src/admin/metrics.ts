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
  /** The error codes each plugin's series carry (to remove them with the plugin). */
  readonly #codes = new Map<string, Set<string>>();

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
    // at most 256 plugins, and a deleted plugin's series are removed: the label is bounded
    this.invocations.inc({ plugin });
    if (!ok) {
      const c = code ?? "error";
      this.errors.inc({ plugin, code: c });
      let codes = this.#codes.get(plugin);
      if (!codes) this.#codes.set(plugin, (codes = new Set()));
      codes.add(c);
    }
    this.duration.observe(durationUs);
  }

  /** Drop a deleted plugin's series, so names registered and deleted do not pile up. */
  deleted(plugin: string): void {
    this.invocations.remove({ plugin });
    for (const code of this.#codes.get(plugin) ?? []) this.errors.remove({ plugin, code });
    this.#codes.delete(plugin);
  }

  changed(count: number, memoryBytes: number): void {
    this.registered.set(count);
    this.memory.set(memoryBytes);
  }
}
