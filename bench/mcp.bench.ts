/**
 * The MCP gateway's benchmark: tools/call latency through the gateway against calling the same
 * server directly (stdio→stdio, HTTP→stdio, HTTP→HTTP), with an allow-all policy and with a
 * realistic one (20 rules with parameter constraints, audit on); throughput at concurrency 1
 * and 16 against a naive SDK pass-through proxy measured in the same run; gateway RSS under load.
 * Clients are lean JSON-RPC clients (bench/mcp/raw-clients.ts), so the client is not measured.
 * The floor rows (bench/mcp/relay.ts: a plain Node byte relay on stdio; on HTTP the standard
 * stack's floor, a node:http server relaying through an undici Pool, beside a plain TCP relay) run interleaved with the others, so every run shows what one more process in the path
 * costs on this machine and how much the gateway adds over it. Every process is warmed with the
 * same number of calls first (see `warm`), so the rows show warm processes, as in a long run.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Harness } from "./harness.js";
import {
  cpuMs,
  httpClient,
  interleaved,
  loadFor,
  mainThreadCpuMs,
  type RawClient,
  rssMb,
  spawnListening,
  stdioClient,
} from "./mcp/raw-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const CLI = join(root, "dist/cli/main.js");
const ECHO = join(here, "mcp/echo-server.js");
const NAIVE = join(here, "mcp/naive-proxy.js");
const RELAY = join(here, "mcp/relay.js");
const node = process.execPath;

const ALLOW_ALL = `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n`;

/** 20 rules: allows with parameter constraints and rate limits, denies; echo matches late. */
const REALISTIC = `version: "1.0"
description: realistic gateway policy for the benchmark
storage:
  allow:
    - { uri: "file:///srv/data/**", access: [read] }
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - { name: "read_file", parameters: { path: "/srv/data/**" } }
      - { name: "read_multiple_files", parameters: { paths: { type: array } } }
      - { name: "list_directory", parameters: { path: "/srv/data/**" } }
      - { name: "search_files", parameters: { path: "/srv/data/**", pattern: { type: string, max_length: 200 } } }
      - { name: "get_file_info", parameters: { path: "/srv/data/**" } }
      - { name: "web_search", max_calls_per_minute: 60, parameters: { query: { type: string, max_length: 500 } } }
      - { name: "fetch_url", parameters: { url: { regex: "^https://" } } }
      - { name: "sql_query", parameters: { query: { regex: "^\\\\s*select\\\\b" } } }
      - { name: "git_*", parameters: { repo: "/srv/repos/**" } }
      - { name: "calendar_*" }
      - { name: "weather", parameters: { city: { type: string, max_length: 80 } } }
      - { name: "translate", parameters: { to: { enum: [en, fr, de, es] } } }
      - { name: "math_*" }
      - { name: "echo", parameters: { text: { type: string, max_length: 10000 } }, max_calls_per_minute: 100000 }
    deny:
      - "system_*"
      - "*delete*"
      - "shell"
      - "exec_*"
      - "write_file"
      - "move_file"
`;

interface Proc {
  proc: ChildProcess;
  url: string;
}
const procs: ChildProcess[] = [];

async function listen(args: string[]): Promise<Proc> {
  const p = await spawnListening(node, args);
  procs.push(p.proc);
  return p;
}

function gatewayConfig(
  dir: string,
  name: string,
  listen: string,
  upstream: string,
  policy: string,
  audit: boolean,
): string {
  writeFileSync(join(dir, `${name}.policy.yaml`), policy);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `listen: ${listen}\npolicy: ./${name}.policy.yaml\n${audit ? `audit: { file: ./${name}.audit.jsonl }\n` : ""}upstreams:\n${upstream}`,
  );
  return file;
}

const ARGS = { name: "echo", arguments: { text: "hello from the benchmark" } };

export default async function (h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-mcp-"));
  const stdioUp = `  - name: echo\n    command: ${JSON.stringify(node)}\n    args: [${JSON.stringify(ECHO)}]\n`;
  const echoHttp = await listen([ECHO, "--http"]);
  const httpUp = `  - name: echo\n    url: ${echoHttp.url}\n`;
  const rounds = h.quick ? 200 : 2000;
  const budget = h.quick ? 3000 : 12_000;
  const clients: RawClient[] = [];
  const keep = <T extends RawClient>(c: T) => {
    clients.push(c);
    return c;
  };
  /** An HTTP client whose `pid` is the proxy process it talks to (for the CPU notes). */
  const owned = (c: RawClient, p: Proc): RawClient => ({ ...c, pid: () => p.proc.pid });
  const call = (c: RawClient) => async () => {
    const r = (await c.call("tools/call", ARGS)) as { result?: unknown };
    if (!r?.result) throw new Error(`tools/call failed: ${JSON.stringify(r)}`);
  };
  const pct = (xs: number[], q: number) =>
    xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;
  /**
   * Record interleaved latencies; each case's note says how much it adds to the first (the
   * direct call) and, for the rows after a "floor" row (a plain byte relay in the same path),
   * how much it adds over that floor: the time the gateway's own work costs.
   */
  /**
   * Warm every process of a row by call count before measuring: a gateway runs for hours, and
   * V8 needs a few thousand calls to optimise its hot paths (over the first ~4,000 calls the
   * gateway's CPU per call fell from ~790 to ~230 µs, a plain relay's from ~350 to ~110 µs).
   * Calls go 8 at a time to keep the warm-up short; each row gets the same count, capped in time.
   */
  const warmCalls = h.quick ? 300 : 5000;
  const warm = async (c: RawClient) => {
    const end = performance.now() + (h.quick ? 2000 : 10_000);
    let left = warmCalls;
    const one = call(c);
    const worker = async () => {
      while (left-- > 0 && performance.now() < end) await one();
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await loadFor(200, 1, one);
  };
  /** Calls per client per round: back-to-back blocks (see `interleaved`); 1 for the idle rows. */
  const BLOCK = 100;
  const group = async (
    label: string,
    cases: [string, RawClient][],
    goal: string,
    block = BLOCK,
  ) => {
    for (const [name, c] of cases)
      await warm(c).catch((e: Error) => {
        throw new Error(`${label}: ${name}: warming failed: ${e.message}`, { cause: e });
      });
    // the proxy's main-thread CPU over its measured calls (not the direct row: the server
    // behind serves every row)
    const cpu = cases.map(() => 0);
    let at = 0;
    const pidOf = (i: number) => (i === 0 ? undefined : cases[i]![1].pid());
    const lat = await interleaved(
      cases.map(([name, c]) => {
        const f = call(c);
        return () =>
          f().catch((e: Error) => {
            throw new Error(`${label}: ${name}: ${e.message}`, { cause: e });
          });
      }),
      block === 1 ? rounds : Math.max(3, Math.ceil(rounds / block)),
      budget,
      block,
      block === 1
        ? undefined
        : {
            before: (i) => {
              const pid = pidOf(i);
              at = pid === undefined ? 0 : mainThreadCpuMs(pid);
            },
            after: (i) => {
              const pid = pidOf(i);
              if (pid !== undefined) cpu[i]! += mainThreadCpuMs(pid) - at;
            },
          },
    );
    const base = lat[0]!.sort((a, b) => a - b);
    const fi = cases.findIndex(([name]) => name.startsWith("floor"));
    const floor = fi < 0 ? undefined : lat[fi]!.sort((a, b) => a - b);
    for (const [i, [name]] of cases.entries()) {
      const xs = i === 0 ? base : lat[i]!.sort((a, b) => a - b);
      const d50 = (pct(xs, 0.5) - pct(base, 0.5)) / 1000;
      const d99 = (pct(xs, 0.99) - pct(base, 0.99)) / 1000;
      const total = xs.reduce((a, b) => a + b, 0);
      const over =
        floor !== undefined && i > fi
          ? ` (${((pct(xs, 0.5) - pct(floor, 0.5)) / 1000).toFixed(0)} µs p50 over the floor)`
          : "";
      const cpuNote =
        i > 0 && block > 1 && Number.isFinite(cpu[i]!)
          ? `; proxy main thread ${Math.round((cpu[i]! * 1000) / xs.length)} µs CPU/call`
          : "";
      h.record({
        name: `${label}: ${name}`,
        p50_ns: Math.round(pct(xs, 0.5)),
        p99_ns: Math.round(pct(xs, 0.99)),
        ops_per_s: Math.round((xs.length / total) * 1e9),
        samples: xs.length,
        note:
          i === 0
            ? block === 1
              ? "direct (baseline); rows interleaved call by call, so each process idles between its calls"
              : `direct (baseline); rows interleaved in blocks of ${block} back-to-back calls`
            : i === fi
              ? `adds ${d50.toFixed(0)} µs p50, ${d99.toFixed(0)} µs p99${cpuNote}: one more Node process passing bytes, no parsing (what any proxy pays)`
              : `adds ${d50.toFixed(0)} µs p50, ${d99.toFixed(0)} µs p99${over}${cpuNote}; ${goal}`,
      });
    }
  };
  const gatewayStdio = async (label: string, upstream: string, policy: string, audit: boolean) =>
    keep(
      await stdioClient(node, [
        CLI,
        "gateway",
        "--config",
        gatewayConfig(dir, label, "stdio", upstream, policy, audit),
        "--no-watch",
      ]),
    );
  const gatewayHttp = async (label: string, upstream: string, policy: string, audit: boolean) =>
    listen([
      CLI,
      "gateway",
      "--config",
      gatewayConfig(dir, label, "{ http: { port: 0 } }", upstream, policy, audit),
      "--no-watch",
    ]);
  try {
    const direct = keep(await stdioClient(node, [ECHO]));
    await group(
      "stdio→stdio",
      [
        ["direct", direct],
        ["floor: plain byte relay", keep(await stdioClient(node, [RELAY, "stdio", node, ECHO]))],
        ["gateway, allow-all", await gatewayStdio("ss-allow", stdioUp, ALLOW_ALL, false)],
        ["gateway, realistic + audit", await gatewayStdio("ss-real", stdioUp, REALISTIC, true)],
      ],
      "goal ≤ 100 µs p50",
    );
    await group(
      "stdio→stdio, idle between calls",
      [
        ["direct", direct],
        ["floor: plain byte relay", keep(await stdioClient(node, [RELAY, "stdio", node, ECHO]))],
        ["gateway, allow-all", await gatewayStdio("ss-idle", stdioUp, ALLOW_ALL, false)],
      ],
      "each process idles ~1 ms between its calls here: the wake-up is measured too",
      1,
    );
    const hsAllow = await gatewayHttp("hs-allow", stdioUp, ALLOW_ALL, false);
    const hsReal = await gatewayHttp("hs-real", stdioUp, REALISTIC, true);
    await group(
      "HTTP→stdio",
      [
        ["direct (stdio)", direct],
        ["gateway, allow-all", owned(keep(await httpClient(hsAllow.url)), hsAllow)],
        ["gateway, realistic + audit", owned(keep(await httpClient(hsReal.url)), hsReal)],
      ],
      "the HTTP front's hop included",
    );
    const gws: Record<string, Proc> = {
      allow: await gatewayHttp("hh-allow", httpUp, ALLOW_ALL, false),
      real: await gatewayHttp("hh-real", httpUp, REALISTIC, true),
    };
    const naive = await listen([NAIVE, echoHttp.url]);
    const tcpRelay = await listen([RELAY, "tcp", echoHttp.url]);
    const httpRelay = await listen([RELAY, "http", echoHttp.url]);
    await group(
      "HTTP→HTTP",
      [
        ["direct", keep(await httpClient(echoHttp.url))],
        [
          "plain TCP relay (no HTTP parsing)",
          owned(keep(await httpClient(tcpRelay.url)), tcpRelay),
        ],
        [
          "floor: node:http + undici Pool relay",
          owned(keep(await httpClient(httpRelay.url)), httpRelay),
        ],
        ["gateway, allow-all", owned(keep(await httpClient(gws.allow!.url)), gws.allow!)],
        ["gateway, realistic + audit", owned(keep(await httpClient(gws.real!.url)), gws.real!)],
        ["naive SDK proxy", owned(keep(await httpClient(naive.url)), naive)],
      ],
      "goal ≤ 150 µs p50 over the floor, ≤ 300 µs p50 over direct, ≤ 1 ms p99",
    );

    // Throughput, concurrency 1 and 16, with the gateway's CPU time per call and peak RSS.
    const ms = h.quick ? 1500 : 4000;
    const targets: [string, string, number | undefined][] = [
      ["HTTP direct", echoHttp.url, undefined],
      ["HTTP→HTTP gateway (allow-all)", gws.allow!.url, gws.allow!.proc.pid],
      ["HTTP→HTTP gateway (realistic+audit)", gws.real!.url, gws.real!.proc.pid],
      ["HTTP→stdio gateway (realistic+audit)", hsReal.url, hsReal.proc.pid],
      ["HTTP→HTTP naive SDK proxy", naive.url, naive.proc.pid],
      ["HTTP→HTTP floor: node:http + undici relay", httpRelay.url, httpRelay.proc.pid],
    ];
    for (const conc of [1, 16]) {
      for (const [name, url, pid] of targets) {
        const c = keep(await httpClient(url, conc));
        await loadFor(300, conc, call(c));
        let peak = 0;
        const timer =
          pid === undefined
            ? undefined
            : setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
        const cpu0 = pid === undefined ? 0 : cpuMs(pid);
        const r = await loadFor(ms, conc, call(c));
        const cpu = pid === undefined ? 0 : cpuMs(pid) - cpu0;
        if (timer) clearInterval(timer);
        if (pid !== undefined) peak = Math.max(peak, rssMb(pid));
        r.lat.sort((a, b) => a - b);
        h.record({
          name: `throughput c${conc}: ${name}`,
          p50_ns: Math.round(pct(r.lat, 0.5)),
          p99_ns: Math.round(pct(r.lat, 0.99)),
          ops_per_s: r.perSec,
          samples: r.ops,
          note: `${r.ops} calls in ${ms} ms${pid === undefined ? "" : `; proxy CPU ${Math.round((cpu * 1000) / r.ops)} µs/call; peak RSS ${peak} MB`}`,
        });
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const p of procs) p.kill("SIGTERM");
  }
}
