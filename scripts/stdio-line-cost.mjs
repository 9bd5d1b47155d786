#!/usr/bin/env node
// What one long stdio line costs the gateway: `node scripts/stdio-line-cost.mjs [MB] [dist dir]`
// starts `warden gateway` (stdio, one fixture upstream), sends one MB-megabyte line, then a
// plain call, and prints the gateway's CPU time and peak RSS (VmHWM) spent on it, read from
// /proc (Linux). Issue 18 measured 137 s of CPU and 1.57 GB for a 200 MB line before the
// line splitter; build first (npm run build).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const MB = Number(process.argv[2] ?? 200);
const dist = resolve(process.argv[3] ?? "dist");
const fixture = resolve("test/fixtures/mcp-server/server.mjs");
const dir = mkdtempSync(join(tmpdir(), "warden-line-"));
writeFileSync(
  join(dir, "policy.yaml"),
  'version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["echo"] }\n',
);
writeFileSync(
  join(dir, "warden.yaml"),
  `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: a\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(fixture)}]\n`,
);
const gw = spawn(
  process.execPath,
  [join(dist, "cli/main.js"), "gateway", "--config", join(dir, "warden.yaml"), "--no-watch"],
  { stdio: ["pipe", "pipe", "ignore"] },
);
const waiting = new Map();
createInterface({ input: gw.stdout }).on("line", (l) => {
  const m = JSON.parse(l);
  waiting.get(m.id)?.(m);
});
const ask = (id, method, params) =>
  new Promise((r) => {
    waiting.set(id, r);
    gw.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
  });
const cpuMs = () => {
  const f = readFileSync(`/proc/${gw.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks (100 Hz)
};
const hwmMiB = () =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${gw.pid}/status`, "utf8"))[1]) / 1024;

await ask(1, "initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "line-cost", version: "1" },
});
gw.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
await ask(2, "tools/call", { name: "echo", arguments: { text: "warm" } });
const cpu0 = cpuMs();
const rss0 = hwmMiB();
const t0 = Date.now();
const chunk = "x".repeat(1024 * 1024);
gw.stdin.write(
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"',
);
for (let i = 0; i < MB; i++)
  if (!gw.stdin.write(chunk)) await new Promise((r) => gw.stdin.once("drain", r));
const first = new Promise((r) => waiting.set(3, r));
gw.stdin.write('"}}}\n');
const a3 = await first;
const a4 = await ask(4, "tools/call", { name: "echo", arguments: { text: "next" } });
console.log(
  JSON.stringify({
    line_mb: MB,
    answer: a3.error ? `error ${a3.error.code}: ${a3.error.message.slice(0, 80)}` : "result",
    next_call: a4.result ? "answered" : a4.error?.message,
    cpu_ms: cpuMs() - cpu0,
    wall_ms: Date.now() - t0,
    peak_rss_mib_before: Math.round(rss0),
    peak_rss_mib_after: Math.round(hwmMiB()),
  }),
);
gw.stdin.end();
