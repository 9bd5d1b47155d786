import { type Call, makeCall } from "../../core/call.js";
import { Chain } from "../../core/chain.js";
import type { Decision } from "../../core/decision.js";
import { FirewallBuilder } from "../../core/strategies/firewall.js";
import { type StatisticsSnapshot, StatisticsStrategy } from "../../core/strategies/statistics.js";

export interface CoreDemoResult {
  decisions: {
    call: string;
    verdict: Decision["verdict"];
    reason: string;
    rule?: string;
    result?: unknown;
  }[];
  statistics: StatisticsSnapshot;
}

/** A tiny "file server" the demo's calls go to. */
const files: Record<string, (args: unknown) => unknown> = {
  read_file: (a) => `contents of ${(a as { path: string }).path}`,
  list_directory: () => ["notes.md", "todo.md"],
  delete_file: () => "deleted",
};

/**
 * The core part of `warden demo`: an interceptor chain with a deny-by-default firewall and
 * statistics judging a few calls from two agents; prints each decision and the statistics.
 */
export function runCoreDemo(): CoreDemoResult {
  const firewall = new FirewallBuilder(false)
    .named("demo-firewall")
    .allowFunction("agent", "files", "read_file", "agent-may-read")
    .allowFunction("agent", "files", "list_*", "agent-may-list")
    .allowSource("admin", "files", "admin-may-do-anything")
    .denyFunction("*", "files", "delete_*", "nobody-deletes")
    .build();
  const stats = new StatisticsStrategy({ maxFunctions: 100 });
  const chain = new Chain("demo", [stats, firewall]);
  const calls: Call[] = [
    makeCall("agent", "files", "read_file", { path: "/srv/notes.md" }),
    makeCall("agent", "files", "list_directory", { path: "/srv" }),
    makeCall("agent", "files", "write_file", { path: "/srv/notes.md" }),
    makeCall("admin", "files", "delete_file", { path: "/srv/todo.md" }),
    makeCall("admin", "files", "read_file", { path: "/srv/todo.md" }),
  ];
  const decisions: CoreDemoResult["decisions"] = [];
  for (const call of calls) {
    const d = chain.invoke(call, (args) => files[call.function]?.(args));
    const entry: CoreDemoResult["decisions"][number] = {
      call: `${call.source} -> ${call.target}.${call.function}`,
      verdict: d.verdict,
      reason:
        d.verdict === "allow"
          ? firewall.explain(call.source, call.target, call.function).reason
          : d.reason,
    };
    const rule = d.rule ?? firewall.explain(call.source, call.target, call.function).rule;
    if (rule !== undefined) entry.rule = rule;
    if (d.verdict === "allow") entry.result = call.result;
    decisions.push(entry);
  }
  return { decisions, statistics: stats.snapshot() };
}

export function printCoreDemo(r: CoreDemoResult, write: (s: string) => void): void {
  write("Interceptor chain: statistics + deny-by-default firewall\n");
  for (const d of r.decisions) {
    write(
      `  ${d.verdict === "allow" ? "ALLOW" : "DENY "} ${d.call.padEnd(32)} rule ${d.rule ?? "-"}: ${d.reason}\n`,
    );
  }
  write("Statistics (calls that ran):\n");
  for (const f of r.statistics.functions) {
    write(
      `  ${`${f.target}.${f.function}`.padEnd(22)} calls ${f.calls}  errors ${f.errors}  p50 ${f.timing?.p50_ms ?? 0} ms\n`,
    );
  }
}
