#!/usr/bin/env node
/**
 * A/B of two builds of the stdio gateway, side by side in one run: main-thread plus kernel CPU
 * per tools/call (from /proc/<pid>/stat) and the client's p50/p99, for the bench's realistic
 * policy with the audit on (bench/mcp.bench.ts "stdio→stdio, realistic + audit").
 *
 *   node scripts/ab-gateway-stdio.mjs A/dist/cli/main.js B/dist/cli/main.js [calls=20000] [block=50]
 *
 * Both gateways start, get 2,000 warm-up calls each (alternating), then blocks of `block`
 * back-to-back calls alternate between them until each has had `calls`. Run it several times
 * with A and B swapped: the first-started process is often a few per cent apart from the second
 * on this 2-core VM, and two builds should be compared from identical installs (the same
 * node_modules), or the install itself shows up as a difference (bench/HISTORY.md, 2026-12-07).
 * Needs `npx tsc -p tsconfig.bench.json` once (the echo server is dist-bench's).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const [a, b, calls = "20000", block = "50"] = process.argv.slice(2);
if (!a || !b) {
  console.error(
    "usage: node scripts/ab-gateway-stdio.mjs A/dist/cli/main.js B/dist/cli/main.js [calls] [block]",
  );
  process.exit(2);
}
const root = resolve(import.meta.dirname, "..");
const echo = join(root, "dist-bench/bench/mcp/echo-server.js");
const policySrc = readFileSync(join(root, "bench/mcp.bench.ts"), "utf8").match(
  /const REALISTIC = `([^`]*)`/,
)?.[1];
if (!policySrc) throw new Error("bench/mcp.bench.ts has no REALISTIC policy literal");
const TICK = 100; // CLK_TCK on Linux
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK;
};

function start(label, cli) {
  const dir = mkdtempSync(join(tmpdir(), `warden-ab-${label}-`));
  writeFileSync(join(dir, "policy.yaml"), policySrc);
  writeFileSync(
    join(dir, "warden.yaml"),
    `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: echo\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(echo)}]\n`,
  );
  const p = spawn(
    process.execPath,
    [cli, "gateway", "--config", join(dir, "warden.yaml"), "--no-watch"],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const waiters = new Map();
  createInterface({ input: p.stdout }).on("line", (l) => {
    const m = JSON.parse(l);
    waiters.get(m.id)?.(m);
    waiters.delete(m.id);
  });
  const ask = (id, method, params) =>
    new Promise((r) => {
      waiters.set(id, r);
      p.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    });
  return { label, cli, p, ask, lat: [], cpu0: 0 };
}

const gs = [start("A", a), start("B", b)];
const hello = { name: "echo", arguments: { text: "hello" } };
for (const g of gs) {
  await g.ask(0, "initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "ab", version: "1" },
  });
  g.p.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
}
let id = 1;
for (let w = 0; w < 2000; w++) for (const g of gs) await g.ask(id++, "tools/call", hello);
for (const g of gs) g.cpu0 = cpuSeconds(g.p.pid);
for (let done = 0; done < Number(calls); done += Number(block))
  for (const g of gs)
    for (let i = 0; i < Number(block); i++) {
      const t = process.hrtime.bigint();
      const r = await g.ask(id++, "tools/call", hello);
      g.lat.push(Number(process.hrtime.bigint() - t) / 1000);
      if (r.error) throw new Error(`${g.label}: ${JSON.stringify(r.error)}`);
    }
for (const g of gs) {
  const cpu = ((cpuSeconds(g.p.pid) - g.cpu0) * 1e6) / Number(calls);
  g.lat.sort((x, y) => x - y);
  const pct = (q) => g.lat[Math.floor(g.lat.length * q)].toFixed(0);
  console.log(
    `${g.label} ${g.cli}: ${cpu.toFixed(1)} µs CPU/call, p50 ${pct(0.5)} µs, p99 ${pct(0.99)} µs`,
  );
  g.p.kill("SIGTERM");
}
