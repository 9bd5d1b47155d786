/** Prometheus metrics of the gateway (config `metrics: { path: /metrics }`, HTTP listen only). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { StatisticsStrategy } from "../core/strategies/statistics.js";
import type { AuditEntry } from "./audit.js";
import { HostCallMetrics } from "./host-call-metrics.js";
import type { UpstreamHealth } from "./upstream-health.js";

/** Distinct (upstream, tool) pairs counted one by one; later ones share the overflow series. */
const MAX_TOOLS = 1000;

/** Distinct rules counted one by one; later ones count as rule "other". */
const MAX_RULES = 1000;

/**
 * The methods metrics are labelled with; any other (a method MCP does not define, a refused
 * message's) counts as "other", so that a client cannot grow the label set without end.
 */
const METHODS = new Set([
  "initialize",
  "ping",
  "tools/call",
  "tools/list",
  "prompts/get",
  "prompts/list",
  "resources/read",
  "resources/list",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "logging/setLevel",
  "roots/list",
  "tasks/get",
  "tasks/list",
  "tasks/cancel",
  "tasks/result",
]);

export class GatewayMetrics {
  readonly registry: Registry;
  /** Each upstream's health, read at each scrape (the gateway's views set it). */
  upstreams: () => readonly UpstreamHealth[] = () => [];
  /**
   * The core statistics strategy, in the gateway's tool_invoke chain: it times every judged
   * tools/call from its judgement to its end and counts calls and errors per (upstream, tool);
   * the tool series below are read from it at each scrape.
   */
  readonly statistics = new StatisticsStrategy({ maxFunctions: MAX_TOOLS }, "metrics");
  readonly decisions: Counter;
  /** Decisions per deciding rule (`mcp.tools.deny[1]`, `security_guards.pii`; "none": a default). */
  readonly ruleDecisions: Counter;
  readonly #rules = new Set<string>();
  readonly duration: Histogram;
  readonly sessions: Gauge;
  readonly reloads: Counter;
  /** Component upstreams' host calls (host-call-metrics.ts). */
  readonly hosted: HostCallMetrics;

  /** `registry`: the process's own, to register in (default: one of its own). */
  constructor(registry = new Registry()) {
    this.registry = registry;
    this.decisions = new Counter({
      name: "warden_mcp_decisions_total",
      help: "Gateway decisions by method and decision.",
      labelNames: ["method", "decision"],
      registers: [this.registry],
    });
    this.ruleDecisions = new Counter({
      name: "warden_mcp_rule_decisions_total",
      help: 'Gateway decisions by the rule that decided them (a policy rule\'s key path, security_guards.<id>; "none" when no rule decided, as a default deny) and decision.',
      labelNames: ["rule", "decision"],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: "warden_mcp_request_seconds",
      help: "Time from a judged request to its answer.",
      labelNames: ["method"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.sessions = new Gauge({
      name: "warden_mcp_sessions",
      help: "Open downstream sessions.",
      registers: [this.registry],
    });
    this.reloads = new Counter({
      name: "warden_mcp_reloads_total",
      help: "Config and policy reloads by outcome.",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    this.hosted = new HostCallMetrics(this.registry);
    const stats = this.statistics;
    const calls = new Counter({
      name: "warden_mcp_tool_calls_total",
      help: 'tools/call forwarded, per upstream and public tool name (past 1000 tools: tool="(overflow)").',
      labelNames: ["upstream", "tool"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of rows(stats)) this.inc({ upstream: f.target, tool: f.function }, f.calls);
      },
    });
    const errors = new Counter({
      name: "warden_mcp_tool_errors_total",
      help: "tools/call that ended in an error, a failure, a denied answer or a cancel, per tool.",
      labelNames: ["upstream", "tool"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of rows(stats))
          if (f.errors > 0) this.inc({ upstream: f.target, tool: f.function }, f.errors);
      },
    });
    const latency = new Gauge({
      name: "warden_mcp_tool_seconds",
      help: "tools/call time from judgement to end, per tool: quantiles 0.5, 0.9, 0.99 (within 12.5%).",
      labelNames: ["upstream", "tool", "quantile"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of rows(stats)) {
          const t = f.timing;
          if (t === undefined) continue;
          const l = { upstream: f.target, tool: f.function };
          this.set({ ...l, quantile: "0.5" }, t.p50_ms / 1000);
          this.set({ ...l, quantile: "0.9" }, t.p90_ms / 1000);
          this.set({ ...l, quantile: "0.99" }, t.p99_ms / 1000);
        }
      },
    });
    const health = () => this.upstreams();
    const up = new Gauge({
      name: "warden_mcp_upstream_up",
      help: "1 when the upstream is up (shared: its connection; per session: every open session's), else 0 (starting, down, failed, or a per-session upstream with no session).",
      labelNames: ["upstream"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const h of health()) this.set({ upstream: h.name }, h.state === "up" ? 1 : 0);
      },
    });
    const restarts = new Counter({
      name: "warden_mcp_upstream_restarts_total",
      help: "Restarts of the upstream after a failure since the gateway started (per session: every session's).",
      labelNames: ["upstream"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const h of health()) this.inc({ upstream: h.name }, h.restarts);
      },
    });
    const using = new Gauge({
      name: "warden_mcp_upstream_sessions",
      help: "Client sessions using the upstream now.",
      labelNames: ["upstream"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const h of health()) this.set({ upstream: h.name }, h.sessionsUsing);
      },
    });
    void calls;
    void errors;
    void latency;
    void up;
    void restarts;
    void using;
  }

  /** Decision lines count decisions; a call's time is observed once, when it ends. */
  record(rec: AuditEntry, ends: boolean): void {
    const method = METHODS.has(rec.method) ? rec.method : "other";
    if (rec.phase === "decision") {
      this.decisions.inc({ method, decision: rec.decision });
      this.ruleDecisions.inc({
        rule: this.#rule(rec.rule_id ?? rec.rule),
        decision: rec.decision,
      });
    }
    if (ends) this.duration.observe({ method }, rec.duration_ms / 1000);
  }

  /** The rule label: rule ids come from the config, but their count is bounded all the same. */
  #rule(rule: string | undefined): string {
    if (rule === undefined || rule === "") return "none";
    if (this.#rules.has(rule)) return rule;
    if (this.#rules.size >= MAX_RULES) return "other";
    this.#rules.add(rule);
    return rule;
  }
}

function rows(stats: StatisticsStrategy) {
  const s = stats.snapshot();
  return s.overflow === null ? s.functions : [...s.functions, s.overflow];
}
