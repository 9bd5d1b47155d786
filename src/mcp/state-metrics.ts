/**
 * /metrics of state.redis (docs/scale-out.md, "Health"): whether each connection to Redis is
 * up, and the calls and requests refused for want of it, by what needed it (rate_limit,
 * session_route, registry, pins). A process may hold two connections in one prom-client
 * registry (the gateway's, and the admin plugin registry's): each is a `connection` of the
 * gauge and the refusals are summed. Read at each scrape.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { RedisState } from "../state/redis.js";

const NEEDS = ["rate_limit", "session_route", "registry", "pins"] as const;
/** The connections reported in each registry (the metrics are registered once per registry). */
const sources = new WeakMap<Registry, Map<string, RedisState>>();

/** Report `redis` (named `connection`: gateway, admin) in `registry`'s /metrics. */
export function stateMetrics(registry: Registry, redis: RedisState, connection: string): void {
  const known = sources.get(registry);
  if (known !== undefined) {
    known.set(connection, redis);
    return;
  }
  const all = new Map([[connection, redis]]);
  sources.set(registry, all);
  new Gauge({
    name: "warden_state_redis_up",
    help: "1 while the connection to Redis (state.redis) is ready, 0 while it is connecting or reconnecting; per connection (gateway, admin).",
    labelNames: ["connection"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [c, r] of all) this.set({ connection: c }, r.up ? 1 : 0);
    },
  });
  new Counter({
    name: "warden_state_unavailable_total",
    help: "Calls and requests refused with state_unavailable because Redis could not be used, by what needed it: rate_limit (a rate-limited call), session_route (a session another instance holds), registry (a shared plugin registry change), pins (a rug_pull pin).",
    labelNames: ["need"],
    registers: [registry],
    collect() {
      this.reset();
      const sum = new Map<string, number>(NEEDS.map((n) => [n, 0]));
      for (const r of all.values())
        for (const [n, v] of r.refusals()) sum.set(n, (sum.get(n) ?? 0) + v);
      for (const [need, v] of sum) this.inc({ need }, v);
    },
  });
}
