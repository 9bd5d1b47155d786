/**
 * What the standard HTTP stack's floor is made of (`npm run bench -- --only floor`, on demand:
 * not part of a whole `npm run bench`). HTTP→HTTP tools/call to the SDK echo server, direct and
 * through one relay process each (bench/mcp/relay.ts): a plain TCP relay (bytes only) and a
 * node:http server relaying through each standard client: undici Pool.dispatch (the mcp
 * group's floor, the gateway's client), one undici Client, Pool.request, and node:http's request
 * with a keep-alive Agent. Rows are interleaved in blocks (as in the mcp group); each note gives
 * the relay's main-thread CPU per call and the echo server's (the same for every row when the
 * relay changes nothing upstream). Findings and figures: bench/HISTORY.md, 2026-12-07 floor.
 */
import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Harness } from "./harness.js";
import {
  httpClient,
  interleaved,
  mainThreadCpuMs,
  type RawClient,
  spawnListening,
} from "./mcp/raw-clients.js";

const here = dirname(fileURLToPath(import.meta.url));
const ECHO = join(here, "mcp/echo-server.js");
const RELAY = join(here, "mcp/relay.js");
const ARGS = { name: "echo", arguments: { text: "hello from the benchmark" } };

export default async function (h: Harness): Promise<void> {
  const procs: ChildProcess[] = [];
  const clients: RawClient[] = [];
  const listen = async (args: string[]) => {
    const p = await spawnListening(process.execPath, args);
    procs.push(p.proc);
    return p;
  };
  try {
    const echo = await listen([ECHO, "--http"]);
    const relays: [string, string[]][] = [
      ["plain TCP relay (no HTTP parsing)", ["tcp", echo.url]],
      ["floor: node:http + undici Pool.dispatch", ["http", echo.url, "pool"]],
      ["node:http + undici Client.dispatch (one connection)", ["http", echo.url, "client"]],
      ["node:http + undici Pool.request", ["http", echo.url, "request"]],
      ["node:http + node:http request, keep-alive Agent", ["http", echo.url, "agent"]],
    ];
    const rows: [string, RawClient, number | undefined][] = [
      ["direct", await httpClient(echo.url), undefined],
    ];
    for (const [name, args] of relays) {
      const p = await listen([RELAY, ...args]);
      rows.push([name, await httpClient(p.url), p.proc.pid]);
    }
    for (const [, c] of rows) clients.push(c);
    const fns = rows.map(([name, c]) => async () => {
      const r = (await c.call("tools/call", ARGS)) as { result?: unknown };
      if (!r?.result) throw new Error(`floor: ${name}: tools/call failed: ${JSON.stringify(r)}`);
    });
    // warm by call count, as the mcp group does (V8 optimises the hot paths over ~4,000 calls)
    for (const f of fns) for (let i = 0; i < (h.quick ? 300 : 4000); i++) await f();
    const relayCpu = rows.map(() => 0);
    const echoCpu = rows.map(() => 0);
    let r0 = 0;
    let e0 = 0;
    const echoPid = echo.proc.pid!;
    const lat = await interleaved(fns, h.quick ? 4 : 20, h.quick ? 3000 : 60_000, 100, {
      before: (i) => {
        const pid = rows[i]![2];
        r0 = pid === undefined ? 0 : mainThreadCpuMs(pid);
        e0 = mainThreadCpuMs(echoPid);
      },
      after: (i) => {
        const pid = rows[i]![2];
        if (pid !== undefined) relayCpu[i]! += mainThreadCpuMs(pid) - r0;
        echoCpu[i]! += mainThreadCpuMs(echoPid) - e0;
      },
    });
    const pct = (xs: number[], q: number) =>
      xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;
    const base = lat[0]!.sort((a, b) => a - b);
    for (const [i, [name]] of rows.entries()) {
      const xs = i === 0 ? base : lat[i]!.sort((a, b) => a - b);
      const n = xs.length;
      const per = (ms: number) => Math.round((ms * 1000) / n);
      h.record({
        name: `HTTP→HTTP: ${name}`,
        p50_ns: Math.round(pct(xs, 0.5)),
        p99_ns: Math.round(pct(xs, 0.99)),
        ops_per_s: Math.round((n / xs.reduce((a, b) => a + b, 0)) * 1e9),
        samples: n,
        note:
          i === 0
            ? `direct (baseline); echo server ${per(echoCpu[i]!)} µs CPU/call`
            : `adds ${((pct(xs, 0.5) - pct(base, 0.5)) / 1000).toFixed(0)} µs p50; relay main thread ${per(relayCpu[i]!)} µs CPU/call, echo server ${per(echoCpu[i]!)} µs`,
      });
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const p of procs) p.kill("SIGTERM");
  }
}
