/**
 * What telemetry.otlp costs per call: tools/call through `warden gateway` (HTTP listen, an HTTP
 * upstream, audit on, allow-all policy) with telemetry off and on, side by side in one run
 * (interleaved blocks, so load from neighbours falls on both alike). With telemetry on, every
 * call makes its span, sends the upstream a traceparent, and the spans go in batches to a local
 * OTLP/HTTP receiver (in this process: it reads and discards). Notes give the p50/p99 difference,
 * each gateway's main-thread CPU per call, the spans received, and the load average; two more
 * rows give each gateway process's CPU per call (all its threads: the exporter's too), telemetry
 * off and on, and the difference.
 *
 * First, the in-process cost per forwarded call (`inProcess`): two gateways in this process
 * (stdio listen on in-memory streams, the echo upstream a child process over stdio, no audit
 * file), one with telemetry.otlp (exporting to a receiver in a child process) and one without,
 * driven in alternating blocks of calls in the same run; this process's CPU time per call
 * (process.cpuUsage: the gateway's own work and the in-memory client's, the same in both; the
 * upstream and the receiver are other processes) on vs off, and the difference.
 *
 *   npm run bench -- --only telemetry
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/mcp/config.js";
import { Gateway } from "../src/mcp/gateway.js";
import { CallTracer } from "../src/telemetry/index.js";
import type { Harness } from "./harness.js";
import {
  cpuMs,
  httpClient,
  interleaved,
  mainThreadCpuMs,
  type RawClient,
  spawnListening,
} from "./mcp/raw-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const CLI = join(root, "dist/cli/main.js");
const ECHO = join(here, "mcp/echo-server.js");
const node = process.execPath;
const ARGS = { name: "echo", arguments: { text: "hello from the benchmark" } };
const POLICY = `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n`;

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** In-process: what one forwarded call's two audit lines cost telemetry (a span made, ended, queued). */
function perLine(h: Harness): void {
  const settings = {
    url: "http://127.0.0.1:9/v1/traces",
    headers: {},
    serviceName: "bench",
    timeoutMs: 1000,
    maxQueue: 1 << 30,
    maxBatch: 512,
    delayMs: 1000,
  };
  // an exporter that takes every batch at once: what is measured is the gateway's side
  const tracer = new CallTracer(settings, "bench", {
    export: (_spans, done) => done({ code: 0 }),
    shutdown: async () => {},
  });
  const rec = {
    time: "",
    call_id: "c",
    caller: "alice",
    session: "s",
    upstream: "echo",
    method: "tools/call",
    name: "echo",
    decision: "allow" as const,
    rule: "/etc/warden/policy.yaml:12",
    rule_id: "mcp.tools.allow[3]",
    duration_ms: 0.05,
  };
  let n = 0;
  h.measure("CallTracer: a forwarded call's decision + outcome lines (span, traceparent)", () => {
    const id = `c${n++}`;
    tracer.record({ ...rec, call_id: id, phase: "decision" }, true);
    tracer.record({ ...rec, call_id: id, phase: "outcome", outcome: "answered", duration_ms: 1 });
  });
}

/** A JSON-RPC client of an in-process gateway's stdio front, over in-memory streams. */
async function memoryGateway(file: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  const gw = await Gateway.start({
    config: loadConfig(file),
    watch: false,
    log: () => {},
    stdio: { input, output },
  });
  const pending = new Map<number, (m: unknown) => void>();
  let buf = "";
  output.on("data", (d: Buffer) => {
    buf += String(d);
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const m = JSON.parse(buf.slice(0, nl)) as { id?: number };
      buf = buf.slice(nl + 1);
      if (typeof m.id === "number") pending.get(m.id)?.(m);
      pending.delete(m.id as number);
      nl = buf.indexOf("\n");
    }
  });
  let id = 0;
  const call = (method: string, params: unknown) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      input.write(`${JSON.stringify({ jsonrpc: "2.0", id: n, method, params })}\n`);
    });
  await call("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "bench", version: "1" },
  });
  input.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  return { gw, call, close: () => gw.stop() };
}

/** A do-nothing OTLP/HTTP receiver in a child process (its CPU is not this process's). */
function childReceiver(): Promise<{ url: string; proc: ChildProcess }> {
  const src = `const s=require("node:http").createServer((q,r)=>{q.resume();q.on("end",()=>r.writeHead(200,{"content-type":"application/json"}).end("{}"))});s.listen(0,"127.0.0.1",()=>console.log(JSON.stringify({listening:"http://127.0.0.1:"+s.address().port})))`;
  return spawnListening(node, ["-e", src]);
}

/** In-process CPU and latency per forwarded call, telemetry off and on, paired in one run. */
async function inProcess(h: Harness, dir: string): Promise<void> {
  const receiver = await childReceiver();
  const gws: Awaited<ReturnType<typeof memoryGateway>>[] = [];
  try {
    writeFileSync(join(dir, "policy.yaml"), POLICY);
    const make = async (name: string, telemetry: string) => {
      const file = join(dir, `mem-${name}.yaml`);
      writeFileSync(
        file,
        `policy: ./policy.yaml\n${telemetry}upstreams:\n  - name: echo\n    command: ${JSON.stringify(node)}\n    args: [${JSON.stringify(ECHO)}]\n`,
      );
      const g = await memoryGateway(file);
      gws.push(g);
      return g;
    };
    const rows: [string, Awaited<ReturnType<typeof memoryGateway>>][] = [
      ["telemetry off", await make("off", "")],
      [
        "telemetry.otlp on (no audit file)",
        // batches of 512 go out when full, from the on gateway's own calls (no timer
        // firing in the other's blocks)
        await make("on", `telemetry:\n  otlp: { endpoint: ${receiver.url}, delay_ms: 60000 }\n`),
      ],
    ];
    const fns = rows.map(([, g]) => async () => {
      const r = (await g.call("tools/call", ARGS)) as { result?: unknown };
      if (!r?.result) throw new Error(`tools/call failed: ${JSON.stringify(r)}`);
    });
    const warm = h.quick ? 300 : 3000;
    for (const f of fns) for (let i = 0; i < warm; i++) await f();
    const cpuUs = rows.map(() => 0);
    let at = process.cpuUsage();
    const block = 200;
    const load = loadavg();
    const lat = await interleaved(fns, h.quick ? 6 : 60, h.quick ? 3000 : 30_000, block, {
      before: () => {
        at = process.cpuUsage();
      },
      after: (i) => {
        const d = process.cpuUsage(at);
        cpuUs[i]! += d.user + d.system;
      },
    });
    const pct = (xs: number[], q: number) =>
      xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;
    const per = rows.map((_, i) => cpuUs[i]! / lat[i]!.length);
    for (const [i, [name]] of rows.entries()) {
      const xs = lat[i]!.sort((a, b) => a - b);
      const total = xs.reduce((a, b) => a + b, 0);
      const extra =
        i === 1
          ? `; telemetry adds ${(per[1]! - per[0]!).toFixed(1)} µs CPU/call (${((per[1]! / per[0]! - 1) * 100).toFixed(0)}%) and ${((pct(xs, 0.5) - pct(lat[0]!, 0.5)) / 1000).toFixed(1)} µs p50`
          : "";
      h.record({
        name: `tools/call, in-process gateway (stdio front in memory, stdio upstream): ${name}`,
        p50_ns: Math.round(pct(xs, 0.5)),
        p99_ns: Math.round(pct(xs, 0.99)),
        ops_per_s: Math.round((xs.length / total) * 1e9),
        samples: xs.length,
        note: `this process ${per[i]!.toFixed(1)} µs CPU/call${extra}; ${xs.length} calls in alternating blocks of ${block}; load average ${load}`,
      });
    }
  } finally {
    for (const g of gws) await g.close().catch(() => {});
    receiver.proc.kill();
  }
}

export default async function (h: Harness): Promise<void> {
  perLine(h);
  await inProcess(h, mkdtempSync(join(tmpdir(), "warden-bench-otel-mem-")));
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-otel-"));
  const procs: ChildProcess[] = [];
  const clients: RawClient[] = [];
  let exports = 0;
  const collector = createServer((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => {
      n += d.length;
    });
    req.on("end", () => {
      if (n > 0) exports++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const listen = async (args: string[]) => {
    const p = await spawnListening(node, args);
    procs.push(p.proc);
    return p;
  };
  const gateway = async (name: string, telemetry: string) => {
    writeFileSync(join(dir, "policy.yaml"), POLICY);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./${name}.audit.jsonl }\n${telemetry}upstreams:\n  - name: echo\n    url: ${echo.url}\n`,
    );
    return listen([CLI, "gateway", "--config", file, "--no-watch"]);
  };
  const echo = await listen([ECHO, "--http"]);
  try {
    const off = await gateway("off", "");
    const on = await gateway("on", `telemetry:\n  otlp: { endpoint: ${endpoint} }\n`);
    const rows: [string, RawClient, ChildProcess | undefined][] = [
      ["direct (HTTP echo server)", await httpClient(echo.url), undefined],
      ["gateway, audit, telemetry off", await httpClient(off.url), off.proc],
      ["gateway, audit, telemetry.otlp on", await httpClient(on.url), on.proc],
    ];
    for (const [, c] of rows) clients.push(c);
    const call = (c: RawClient) => async () => {
      const r = (await c.call("tools/call", ARGS)) as { result?: unknown };
      if (!r?.result) throw new Error(`tools/call failed: ${JSON.stringify(r)}`);
    };
    const warm = h.quick ? 300 : 4000;
    for (const [, c] of rows) {
      const f = call(c);
      for (let i = 0; i < warm; i++) await f();
    }
    const cpu = rows.map(() => 0);
    /** Whole-process CPU (ms) of each gateway over its blocks. */
    const cpuAll = rows.map(() => 0);
    let at = 0;
    let atAll = 0;
    const block = 100;
    const rounds = h.quick ? 4 : 30;
    const load = loadavg();
    const lat = await interleaved(
      rows.map(([, c]) => call(c)),
      rounds,
      h.quick ? 3000 : 20_000,
      block,
      {
        before: (i) => {
          const pid = rows[i]![2]?.pid;
          at = pid === undefined ? 0 : mainThreadCpuMs(pid);
          atAll = pid === undefined ? 0 : cpuMs(pid);
        },
        after: (i) => {
          const pid = rows[i]![2]?.pid;
          if (pid !== undefined) {
            cpu[i]! += mainThreadCpuMs(pid) - at;
            cpuAll[i]! += cpuMs(pid) - atAll;
          }
        },
      },
    );
    const pct = (xs: number[], q: number) =>
      xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;
    const sorted = lat.map((xs) => xs.sort((a, b) => a - b));
    const offXs = sorted[1]!;
    for (const [i, [name]] of rows.entries()) {
      const xs = sorted[i]!;
      const total = xs.reduce((a, b) => a + b, 0);
      const cpuUs = Math.round((cpu[i]! * 1000) / xs.length);
      const vsOff =
        i === 2
          ? `; adds ${((pct(xs, 0.5) - pct(offXs, 0.5)) / 1000).toFixed(0)} µs p50, ${((pct(xs, 0.99) - pct(offXs, 0.99)) / 1000).toFixed(0)} µs p99 over telemetry off; ${exports} export requests received`
          : "";
      h.record({
        name: `tools/call over HTTP: ${name}`,
        p50_ns: Math.round(pct(xs, 0.5)),
        p99_ns: Math.round(pct(xs, 0.99)),
        ops_per_s: Math.round((xs.length / total) * 1e9),
        samples: xs.length,
        note:
          i === 0
            ? `baseline; blocks of ${block} interleaved; load average ${load}`
            : `gateway main thread ${cpuUs} µs CPU/call (10 ms ticks)${vsOff}`,
      });
    }
    // the gateways' CPU per call as rows of their own (JSON and table), telemetry off and on
    const perCall = (i: number) => (cpuAll[i]! * 1e6) / sorted[i]!.length;
    for (const i of [1, 2]) {
      const ns = perCall(i);
      const diff = ns - perCall(1);
      h.record({
        name: `CPU per tools/call over HTTP (gateway process, all threads): ${rows[i]![0]}`,
        p50_ns: Math.round(ns),
        p99_ns: Math.round(ns),
        ops_per_s: Math.round(1e9 / ns),
        samples: sorted[i]!.length,
        note: `${i === 1 ? "the baseline" : `telemetry adds ${diff >= 0 ? "+" : ""}${Math.round(diff / 1000)} µs CPU/call (${((ns / perCall(1) - 1) * 100).toFixed(0)}%)`}; p50 and p99 columns: mean CPU per call over ${sorted[i]!.length} calls in interleaved blocks of ${block} (/proc, 10 ms ticks); ops/s: calls per CPU second; load average ${load}`,
      });
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const p of procs) p.kill();
    collector.closeAllConnections();
    collector.close();
  }
}
