/**
 * /metrics for the host calls of component upstreams (docs/hosted-tools.md): every judged host
 * call a component makes (filesystem, http, sockets, environment, ...) counted per upstream,
 * component, host function and decision, and timed per host function; the events counted past
 * the per-call bound (not audited one by one) counted apart. Label sets are bounded: past 1000
 * distinct (upstream, component, function), new ones share `function="(overflow)"`.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { HostCalls } from "../hosted/host-calls.js";

const MAX_SERIES = 1000;

export class HostCallMetrics {
  readonly calls: Counter;
  readonly seconds: Histogram;
  readonly dropped: Counter;
  readonly #seen = new Set<string>();

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: "warden_hosted_host_calls_total",
      help: "Host calls of component upstreams judged by the policy, per upstream, component, host function (interface.function) and decision.",
      labelNames: ["upstream", "component", "function", "decision"],
      registers: [registry],
    });
    this.seconds = new Histogram({
      name: "warden_hosted_host_call_seconds",
      help: "Time a host call took in the component's host (judging it, and running it when allowed), per host function (calls audited one by one).",
      labelNames: ["upstream", "component", "function"],
      buckets: [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 1e-2, 0.1, 1],
      registers: [registry],
    });
    this.dropped = new Counter({
      name: "warden_hosted_host_events_dropped_total",
      help: "Host calls counted in warden_hosted_host_calls_total but not audited one by one (past the per-tool-call bound of full audit lines; each has a summary line with host.count).",
      labelNames: ["upstream", "component"],
      registers: [registry],
    });
  }

  /** The host calls of one tool call of `upstream`. */
  record(upstream: string, c: HostCalls): void {
    for (const e of c.events) {
      const fn = this.#fn(upstream, e.component, `${e.interface}.${e.function}`);
      this.calls.inc({ upstream, component: e.component, function: fn, decision: e.decision });
      this.seconds.observe({ upstream, component: e.component, function: fn }, e.micros / 1e6);
    }
    for (const d of c.dropped) {
      if (d.interface === "log") continue;
      const fn = this.#fn(upstream, d.component, `${d.interface}.${d.function}`);
      const labels = { upstream, component: d.component, function: fn, decision: d.decision };
      this.calls.inc(labels, d.count);
      this.dropped.inc({ upstream, component: d.component }, d.count);
    }
  }

  #fn(upstream: string, component: string, fn: string): string {
    const key = `${upstream}\u0000${component}\u0000${fn}`;
    if (this.#seen.has(key)) return fn;
    if (this.#seen.size >= MAX_SERIES) return "(overflow)";
    this.#seen.add(key);
    return fn;
  }
}
