/**
 * CPU per tools/call with two gateway instances against one (docs/scale-out.md, "Performance";
 * issue 24's Speed section): a 2-core machine cannot show throughput scaling, so the question is
 * what a second instance costs each call. Three setups share one redis-server and one config
 * (state.redis, state.sessions, a rate-limited echo tool: the window is in Redis in all three):
 * - one instance: every call goes to the instance holding the session;
 * - two instances, round-robin: half the calls reach the other instance and are forwarded;
 * - two instances, all forwarded: every call reaches the other instance (the worst case).
 * Each setup has two rows: the client's latency (p50/p99), and the CPU per call of the gateway
 * processes and redis-server together (user + system, from /proc, 10 ms ticks: the p50 column
 * is the mean over every block, the p99 column the costliest block), with the difference to one
 * instance and `uptime`'s load in its note. `npm run bench -- --only scaleout`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Harness } from "./harness.js";
import { spawnListening } from "./mcp/raw-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const CLI = join(root, "dist/cli/main.js");
const ECHO = join(here, "mcp/echo-server.js");
const node = process.execPath;
const SECRET = "bench-secret-0123456789abcdef0123456789";

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** User and system CPU (ms, 10 ms ticks) of `pid` so far, from /proc. */
function cpuOf(pid: number): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return [Number(f[11]) * 10, Number(f[12]) * 10];
  } catch {
    return [Number.NaN, Number.NaN];
  }
}

/** A redis-server of its own (no persistence), on a free port. */
async function redisServer(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((ok, fail) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += String(d);
      if (out.includes("Ready to accept connections")) ok();
    });
    proc.once("error", (e) => fail(new Error(`redis-server did not start: ${e.message}`)));
    proc.once("exit", (c) => fail(new Error(`redis-server exited (${c}): ${out}`)));
  });
  proc.stdout!.resume();
  return { proc, url: `redis://127.0.0.1:${port}` };
}

/** POST a JSON-RPC message to `url` in `session` (keep-alive); resolves with the parsed answer. */
function poster(agent: Agent) {
  return (url: string, session: string | undefined, body: unknown) =>
    new Promise<{ session?: string; body?: unknown }>((ok, fail) => {
      const u = new URL(url);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json",
        "mcp-protocol-version": "2025-06-18",
      };
      if (session !== undefined) headers["mcp-session-id"] = session;
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            const sid = res.headers["mcp-session-id"];
            ok({
              ...(typeof sid === "string" ? { session: sid } : {}),
              ...(text === "" ? {} : { body: JSON.parse(text) }),
            });
          });
        },
      );
      req.on("error", fail);
      req.end(JSON.stringify(body));
    });
}

export default async function (h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-scaleout-"));
  const procs: ChildProcess[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const redis = await redisServer(dir);
    procs.push(redis.proc);
    writeFileSync(
      join(dir, "policy.yaml"),
      `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools:\n    allow:\n      - { name: "echo", max_calls_per_minute: 100000 }\n`,
    );
    const file = join(dir, "warden.yaml");
    writeFileSync(
      file,
      `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp } }
policy: ./policy.yaml
state:
  dir: ${JSON.stringify(join(dir, "state"))}
  redis: { url: "${redis.url}" }
  sessions: { secret_env: WARDEN_BENCH_SECRET }
upstreams:
  - name: echo
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(ECHO)}]
    sessions: shared
`,
    );
    process.env.WARDEN_BENCH_SECRET = SECRET;
    const start = async () => {
      // WARDEN_BENCH_CPU_PROF=<dir>: each gateway writes a V8 CPU profile there when it stops
      const prof = process.env.WARDEN_BENCH_CPU_PROF;
      const flags = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
      const p = await spawnListening(node, [
        ...flags,
        CLI,
        "gateway",
        "--config",
        file,
        "--no-watch",
      ]);
      procs.push(p.proc);
      return p;
    };
    const [a, b] = [await start(), await start()];
    const post = poster(agent);
    const init = await post(a.url, undefined, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    });
    const sid = init.session!;
    await post(a.url, sid, { jsonrpc: "2.0", method: "notifications/initialized" });
    let id = 1;
    const call = (url: string) => async () => {
      const r = await post(url, sid, {
        jsonrpc: "2.0",
        id: ++id,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "hello from the benchmark" } },
      });
      if (!(r.body as { result?: unknown })?.result)
        throw new Error(`tools/call failed: ${JSON.stringify(r.body)}`);
    };
    const n = h.quick ? 300 : 3000;
    const pids = [a.proc.pid!, b.proc.pid!, redis.proc.pid!];
    // user and system CPU of A, B and redis: [userA, sysA, userB, sysB, userR, sysR]
    const cpu = () => pids.flatMap(cpuOf);
    const setups: [string, (i: number) => () => Promise<void>][] = [
      ["one instance (the session's own)", () => call(a.url)],
      ["two instances, round-robin (half forwarded)", (i) => call(i % 2 === 0 ? a.url : b.url)],
      ["two instances, every call forwarded", () => call(b.url)],
    ];
    for (const [, at] of setups) for (let i = 0; i < 200; i++) await at(i)(); // warm up
    // The setups take turns in blocks of BLOCK calls, so that a change of load (8 helpers share
    // 2 cores) or a late JIT warm-up falls on every row alike; CPU is summed per setup.
    const BLOCK = 100;
    const load = loadavg().map((x) => x.toFixed(2));
    const rows = setups.map(() => ({
      lat: [] as number[],
      cpu: [0, 0, 0, 0, 0, 0],
      /** CPU per call (ms) of each block, all processes. */
      blocks: [] as number[],
    }));
    for (let done = 0; done < n; done += BLOCK)
      for (const [k, [, at]] of setups.entries()) {
        const row = rows[k]!;
        const c0 = cpu();
        for (let i = done; i < done + BLOCK; i++) {
          const t0 = process.hrtime.bigint();
          await at(i)();
          row.lat.push(Number(process.hrtime.bigint() - t0));
        }
        const c1 = cpu();
        let all = 0;
        for (let p = 0; p < 6; p++) {
          row.cpu[p]! += c1[p]! - c0[p]!;
          all += c1[p]! - c0[p]!;
        }
        row.blocks.push(all / BLOCK);
      }
    const loadEnd = loadavg().map((x) => x.toFixed(2));
    /** CPU per call (ns) over all of a setup's calls. */
    const cpuNs = rows.map((r) => (r.cpu.reduce((x, y) => x + y, 0) * 1e6) / r.lat.length);
    for (const [k, [label]] of setups.entries()) {
      const { lat, cpu: used } = rows[k]!;
      const per = (ms: number) => Math.round((ms * 1000) / lat.length);
      const us = (p: number) => per(used[2 * p]! + used[2 * p + 1]!);
      const sys = (p: number) => per(used[2 * p + 1]!);
      lat.sort((x, y) => x - y);
      h.record({
        name: `scale-out: tools/call, ${label}`,
        p50_ns: lat[Math.floor(lat.length / 2)]!,
        p99_ns: lat[Math.floor(lat.length * 0.99)]!,
        ops_per_s: Math.round(1e9 / (lat.reduce((s, x) => s + x, 0) / lat.length)),
        samples: lat.length,
        note: `CPU per call: ${us(0) + us(1) + us(2)} us (instance A ${us(0)} [sys ${sys(0)}], B ${us(1)} [sys ${sys(1)}], redis ${us(2)}); load ${load.join(" ")} -> ${loadEnd.join(" ")}`,
      });
    }
    // the CPU as rows of their own (JSON and table): what a second instance costs each call
    for (const [k, [label]] of setups.entries()) {
      const { lat, blocks } = rows[k]!;
      const mean = cpuNs[k]!;
      const vsOne =
        k === 0
          ? "the baseline"
          : `${mean >= cpuNs[0]! ? "+" : ""}${Math.round((mean - cpuNs[0]!) / 1000)} us (${((mean / cpuNs[0]! - 1) * 100).toFixed(0)}%) over one instance`;
      h.record({
        name: `scale-out: CPU per tools/call (gateways + redis), ${label}`,
        p50_ns: Math.round(mean),
        p99_ns: Math.round(Math.max(...blocks) * 1e6),
        ops_per_s: Math.round(1e9 / mean),
        samples: lat.length,
        note: `${vsOne}; p50 column: mean CPU per call over ${lat.length} calls in ${blocks.length} interleaved blocks of ${BLOCK}, p99 column: the costliest block, ops/s: calls per CPU second; /proc ticks of 10 ms; load ${load.join(" ")} -> ${loadEnd.join(" ")}`,
      });
    }
  } finally {
    agent.destroy();
    for (const p of procs) p.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
