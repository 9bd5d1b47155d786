/** The interceptor chain's cost per call (issue 3 goals: empty ≤ 50 ns p50, firewall + statistics ≤ 300 ns p50). */
import { type Call, makeCall } from "../src/core/call.js";
import { Chain } from "../src/core/chain.js";
import { FirewallBuilder } from "../src/core/strategies/firewall.js";
import { LoggingStrategy } from "../src/core/strategies/logging.js";
import { StatisticsStrategy } from "../src/core/strategies/statistics.js";
import type { Harness } from "./harness.js";

const nullSink = { write: (_s: string) => {} };

function firewall() {
  return new FirewallBuilder(false)
    .allowFunction("agent", "files", "read_file")
    .allowFunction("agent", "files", "list_*")
    .allowSource("trusted", "*")
    .denyFunction("*", "files", "delete_*")
    .build();
}

export default async function (h: Harness): Promise<void> {
  const target = (args: unknown) => args;
  const calls: Call[] = [makeCall("agent", "files", "read_file", { path: "/a" })];
  const call = calls[0]!;

  const empty = new Chain("empty");
  h.measure("chain: empty (invoke)", () => empty.invoke(call, target), {
    note: "goal ≤ 50 ns p50",
  });
  h.measure("chain: empty (before only)", () => empty.before(call));

  const fwOnly = new Chain("fw", [firewall()]);
  h.measure("chain: firewall (invoke)", () => fwOnly.invoke(call, target));

  const fwStats = new Chain("fw+stats", [new StatisticsStrategy(), firewall()]);
  h.measure("chain: firewall + statistics (invoke)", () => fwStats.invoke(call, target), {
    note: "goal ≤ 300 ns p50",
  });

  const denied = makeCall("agent", "files", "delete_all");
  h.measure("chain: firewall + statistics, denied call", () => fwStats.invoke(denied, target));

  const all = new Chain("fw+stats+log", [
    new StatisticsStrategy(),
    firewall(),
    new LoggingStrategy({ destination: nullSink }),
  ]);
  h.measure("chain: firewall + statistics + logging (null sink)", () => all.invoke(call, target), {
    note: "pino serialises 2 events per call",
  });
}
