#!/usr/bin/env node
/**
 * What one proxy process costs per tools/call, the gateway against the benchmark's plain relay
 * (bench/mcp/relay.ts) in front of the same SDK echo server: sequential calls after a warm-up,
 * then p50 latency and the proxy's main-thread CPU per call, user and system (from /proc).
 *
 *   npm run build && npx tsc -p tsconfig.bench.json
 *   node scripts/proxy-cost.mjs stdio|http gateway|relay|floor[:client] [warm-up calls] [measured calls]
 *
 * `relay` is the plain byte relay (on HTTP the TCP relay); `floor` (HTTP only) the standard
 * stack's floor, node:http relaying through an undici Pool, or through another standard client
 * (`floor:client`, `floor:request`, `floor:agent`; see bench/mcp/relay.ts).
 * `--callgrind=FILE` runs the proxy under `valgrind --tool=callgrind` with instrumentation on
 * only for the measured calls (FILE's total ÷ measured calls is the proxy's instructions per
 * call, whatever the machine is doing; the total also holds whatever Turbofan compiles and the
 * GC does in that window, so the same build's total varied 121K to 145K per call on
 * 2026-12-03, while the count of one optimized function repeats to the instruction: compare
 * functions, or totals of several runs); `--perf-basic-prof` is passed to Node, so
 * /tmp/perf-<pid>.map names the JIT code callgrind shows as addresses (`node
 * scripts/callgrind-names.mjs FILE` prints the profile with those names). `--perf=FILE` records the
 * measured calls with `perf record -e cpu-clock -g` (kernel and JIT frames; read it with
 * `perf report -i FILE`), which shows where system time goes. CLI=<other build's
 * dist/cli/main.js> measures another build (A/B in turns).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const [transport, proxy] = args;
const WARM = Number(args[2] ?? 5000);
const N = Number(args[3] ?? 5000);
if (
  !["stdio", "http"].includes(transport) ||
  !/^(gateway|relay|floor(:(pool|client|request|agent))?)$/.test(proxy ?? "") ||
  !(WARM >= 0) ||
  !(N >= 100)
) {
  process.stderr.write(
    "usage: node scripts/proxy-cost.mjs stdio|http gateway|relay|floor[:pool|client|request|agent] [warm-up calls] [measured calls, at least 100] [--callgrind=FILE | --perf=FILE]\n",
  );
  process.exit(2);
}
const cg = process.argv.find((a) => a.startsWith("--callgrind="))?.slice(12);
const perfOut = process.argv.find((a) => a.startsWith("--perf="))?.slice(7);
if (cg !== undefined && perfOut !== undefined) {
  process.stderr.write("proxy-cost: give --callgrind=FILE or --perf=FILE, not both\n");
  process.exit(2);
}
const bench = (f) => join(root, "dist-bench/bench/mcp", f);
const { httpClient, spawnListening } = await import(pathToFileURL(bench("raw-clients.js")).href);
const cli = process.env.CLI ?? join(root, "dist/cli/main.js");
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "warden-proxy-cost-"));
writeFileSync(
  join(dir, "p.yaml"),
  'version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n',
);

let echo;
let upstream;
if (transport === "http") {
  echo = await spawnListening(node, [bench("echo-server.js"), "--http"]);
  upstream = `  - name: echo\n    url: ${echo.url}\n`;
} else
  upstream = `  - name: echo\n    command: ${JSON.stringify(node)}\n    args: [${JSON.stringify(bench("echo-server.js"))}]\n`;
const listen = transport === "http" ? "{ http: { port: 0 } }" : "stdio";
writeFileSync(join(dir, "w.yaml"), `listen: ${listen}\npolicy: ./p.yaml\nupstreams:\n${upstream}`);

let argv =
  proxy === "gateway"
    ? [cli, "gateway", "--config", join(dir, "w.yaml"), "--no-watch"]
    : transport === "http"
      ? proxy.startsWith("floor")
        ? [bench("relay.js"), "http", echo.url, proxy.slice(6) || "pool"]
        : [bench("relay.js"), "tcp", echo.url]
      : [bench("relay.js"), "stdio", node, bench("echo-server.js")];
let cmd = node;
if (cg !== undefined) {
  argv = [
    "--tool=callgrind",
    `--callgrind-out-file=${cg}`,
    "--instr-atstart=no",
    node,
    "--single-threaded",
    "--perf-basic-prof",
    ...argv,
  ];
  cmd = "valgrind";
} else if (perfOut !== undefined) argv = ["--perf-basic-prof", ...argv];

/** A raw NDJSON client of a stdio proxy (the benchmark's own stdio client, with the process). */
function stdioProxy() {
  const proc = spawn(cmd, argv, { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map();
  let id = 0;
  createInterface({ input: proc.stdout }).on("line", (l) => {
    const m = JSON.parse(l);
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const call = (method, params) =>
    new Promise((r) => {
      const n = ++id;
      waiting.set(n, r);
      proc.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: n, method, params })}\n`);
    });
  return { proc, call, stop: () => proc.stdin.end() };
}

let p;
let call;
if (transport === "http") {
  p = await spawnListening(cmd, argv);
  const c = await httpClient(p.url);
  call = c.call;
  p.stop = () => p.proc.kill("SIGTERM");
} else {
  const s = stdioProxy();
  p = s;
  call = s.call;
  await call("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "proxy-cost", version: "1" },
  });
  s.proc.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
}
const pid = p.proc.pid;
const ticks = () => {
  const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return [Number(f[11]) * 10, Number(f[12]) * 10]; // user, system ms (10 ms ticks)
};
const ARGS = { name: "echo", arguments: { text: "hello from the benchmark" } };
const one = async () => {
  const r = await call("tools/call", ARGS);
  if (!r?.result) throw new Error(`tools/call failed: ${JSON.stringify(r)}`);
};
for (let i = 0; i < WARM; i++) await one();
const callgrind = (on) =>
  cg !== undefined &&
  execFileSync("callgrind_control", ["-i", on ? "on" : "off", String(pid)], { stdio: "ignore" });
callgrind(true);
let perf;
if (perfOut !== undefined) {
  perf = spawn(
    "perf",
    ["record", "-q", "-e", "cpu-clock", "-F", "4999", "-g", "-o", perfOut, "-p", String(pid)],
    { stdio: "inherit" },
  );
  perf.on("error", (e) => {
    process.stderr.write(
      `proxy-cost: could not run perf (${e.message}): install it (apt-get install linux-perf) or drop --perf\n`,
    );
    process.exit(2);
  });
  await new Promise((r) => setTimeout(r, 500));
}
const t0 = ticks();
const lat = [];
for (let i = 0; i < N; i++) {
  const t = process.hrtime.bigint();
  await one();
  lat.push(Number(process.hrtime.bigint() - t) / 1000);
}
const t1 = ticks();
callgrind(false);
if (perf !== undefined) {
  perf.kill("SIGINT");
  await new Promise((r) => perf.once("exit", r));
}
lat.sort((a, b) => a - b);
console.log(
  `${transport} ${proxy}: p50 ${lat[N >> 1].toFixed(0)} µs; main thread per call: user ${(((t1[0] - t0[0]) * 1000) / N).toFixed(0)} µs, system ${(((t1[1] - t0[1]) * 1000) / N).toFixed(0)} µs${cg ? ` (under callgrind: ${cg})` : ""}${perfOut ? ` (perf record: ${perfOut})` : ""}`,
);
p.stop();
await new Promise((r) => p.proc.once("exit", r));
echo?.proc.kill("SIGTERM");
process.exit(0);
