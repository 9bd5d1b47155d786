/**
 * The MCP gateway's benchmark: tools/call latency through the gateway against calling the same
 * server directly (stdio→stdio, HTTP→stdio, HTTP→HTTP), with an allow-all policy and with a
 * realistic one (20 rules with parameter constraints, audit on); throughput at concurrency 1
 * and 16 against a naive SDK pass-through proxy measured in the same run; gateway RSS under load.
 * Clients are lean JSON-RPC clients (bench/mcp/raw-clients.ts), so the client is not measured.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Harness } from "./harness.js";
import {
  httpClient,
  loadFor,
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
  const samples = h.quick ? 200 : 2000;
  const lat = async (name: string, c: RawClient, note: string) => {
    const r = await c.call("tools/call", ARGS);
    if (!(r as { result?: unknown }).result)
      throw new Error(`${name}: tools/call failed: ${JSON.stringify(r)}`);
    return h.measureAsync(name, () => c.call("tools/call", ARGS), {
      samples,
      budgetMs: h.quick ? 1500 : 6000,
      note,
    });
  };
  const clients: RawClient[] = [];
  const keep = <T extends RawClient>(c: T) => {
    clients.push(c);
    return c;
  };
  try {
    // stdio → stdio
    const direct = keep(await stdioClient(node, [ECHO]));
    await lat("stdio direct", direct, "raw NDJSON client → SDK echo server (stdio)");
    for (const [label, policy, audit] of [
      ["allow-all", ALLOW_ALL, false],
      ["realistic+audit", REALISTIC, true],
    ] as const) {
      const cfg = gatewayConfig(dir, `stdio-${label}`, "stdio", stdioUp, policy, audit);
      const gw = keep(await stdioClient(node, [CLI, "gateway", "--config", cfg, "--no-watch"]));
      await lat(`stdio→stdio gateway (${label})`, gw, "goal: +100 µs p50 over stdio direct");
    }
    // HTTP → stdio
    for (const [label, policy, audit] of [
      ["allow-all", ALLOW_ALL, false],
      ["realistic+audit", REALISTIC, true],
    ] as const) {
      const cfg = gatewayConfig(
        dir,
        `http-stdio-${label}`,
        "{ http: { port: 0 } }",
        stdioUp,
        policy,
        audit,
      );
      const gw = await listen([CLI, "gateway", "--config", cfg, "--no-watch"]);
      await lat(
        `HTTP→stdio gateway (${label})`,
        keep(await httpClient(gw.url)),
        "raw HTTP keep-alive client; compare stdio direct",
      );
    }
    // HTTP → HTTP
    const directHttp = keep(await httpClient(echoHttp.url));
    await lat(
      "HTTP direct",
      directHttp,
      "raw HTTP keep-alive client → SDK Streamable HTTP echo server (JSON)",
    );
    const gws: Record<string, Proc> = {};
    for (const [label, policy, audit] of [
      ["allow-all", ALLOW_ALL, false],
      ["realistic+audit", REALISTIC, true],
    ] as const) {
      const cfg = gatewayConfig(
        dir,
        `http-http-${label}`,
        "{ http: { port: 0 } }",
        httpUp,
        policy,
        audit,
      );
      gws[label] = await listen([CLI, "gateway", "--config", cfg, "--no-watch"]);
      await lat(
        `HTTP→HTTP gateway (${label})`,
        keep(await httpClient(gws[label]!.url)),
        "goal: +0.3 ms p50, +1 ms p99 over HTTP direct",
      );
    }
    const naive = await listen([NAIVE, echoHttp.url]);
    await lat(
      "HTTP→HTTP naive SDK proxy",
      keep(await httpClient(naive.url)),
      "SDK Server+Client pass-through, same run",
    );

    // Throughput, concurrency 1 and 16.
    const ms = h.quick ? 1500 : 4000;
    const targets: [string, string, number | undefined][] = [
      ["HTTP direct", echoHttp.url, undefined],
      ["HTTP→HTTP gateway (allow-all)", gws["allow-all"]!.url, gws["allow-all"]!.proc.pid],
      [
        "HTTP→HTTP gateway (realistic+audit)",
        gws["realistic+audit"]!.url,
        gws["realistic+audit"]!.proc.pid,
      ],
      ["HTTP→HTTP naive SDK proxy", naive.url, naive.proc.pid],
    ];
    for (const conc of [1, 16]) {
      for (const [name, url, pid] of targets) {
        const c = keep(await httpClient(url, conc));
        await loadFor(300, conc, () => c.call("tools/call", ARGS));
        let peak = 0;
        const timer =
          pid === undefined
            ? undefined
            : setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
        const r = await loadFor(ms, conc, () => c.call("tools/call", ARGS));
        if (timer) clearInterval(timer);
        r.lat.sort((a, b) => a - b);
        const p = (q: number) =>
          r.lat[Math.min(r.lat.length - 1, Math.ceil(q * r.lat.length) - 1)]!;
        h.record({
          name: `throughput c${conc}: ${name}`,
          p50_ns: Math.round(p(0.5)),
          p99_ns: Math.round(p(0.99)),
          ops_per_s: r.perSec,
          samples: r.ops,
          note: `${r.ops} calls in ${ms} ms${pid === undefined ? "" : `; peak RSS ${peak} MB`}`,
        });
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const p of procs) p.kill("SIGTERM");
  }
}
