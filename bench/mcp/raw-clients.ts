/**
 * Lean JSON-RPC clients for the benchmark, so the client is not what is measured: NDJSON over
 * a child's stdio, and POSTs over node:http keep-alive (JSON or SSE answers).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";

const INIT = {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "bench", version: "1" },
};

export interface RawClient {
  call(method: string, params: unknown): Promise<unknown>;
  close(): Promise<void>;
  pid(): number | undefined;
}

export async function stdioClient(command: string, args: string[]): Promise<RawClient> {
  const proc: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map<number, (v: unknown) => void>();
  let buf = "";
  let id = 0;
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = JSON.parse(line) as { id?: number; result?: unknown; error?: unknown };
      if (typeof m.id === "number" && ("result" in m || "error" in m)) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        w?.(m);
      }
      nl = buf.indexOf("\n");
    }
  });
  const call = (method: string, params: unknown) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      proc.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id: n, method, params })}\n`);
    });
  await call("initialize", INIT);
  proc.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  return {
    call,
    pid: () => proc.pid,
    close: () =>
      new Promise((r) => {
        proc.once("exit", () => r());
        proc.stdin!.end();
        setTimeout(() => proc.kill("SIGKILL"), 3000).unref();
      }),
  };
}

export async function httpClient(url: string, maxSockets = 32): Promise<RawClient> {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const u = new URL(url);
  let session: string | undefined;
  let id = 0;
  const post = (body: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
      };
      if (session) headers["mcp-session-id"] = session;
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers },
        (res) => {
          const sid = res.headers["mcp-session-id"];
          if (typeof sid === "string") session = sid;
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            if (text === "") return resolve(undefined);
            if (text.startsWith("{") || text.startsWith("[")) return resolve(JSON.parse(text));
            const data = text.split("\n").filter((l) => l.startsWith("data: ") && l.length > 6);
            resolve(data.length ? JSON.parse(data[data.length - 1]!.slice(6)) : undefined);
          });
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  await post({ jsonrpc: "2.0", id: ++id, method: "initialize", params: INIT });
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  return {
    call: (method, params) => post({ jsonrpc: "2.0", id: ++id, method, params }),
    pid: () => undefined,
    close: async () => agent.destroy(),
  };
}

/** Spawn a process that prints `{"listening": url}` on stdout (or a "listening on URL" line on stderr). */
export function spawnListening(
  command: string,
  args: string[],
): Promise<{ url: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const look = (d: Buffer) => {
      out += String(d);
      const m = out.match(/"listening":"([^"]+)"/) ?? out.match(/listening on (\S+)/);
      if (m) resolve({ url: m[1]!, proc });
    };
    proc.stdout!.on("data", look);
    proc.stderr!.on("data", look);
    proc.on("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${out}`)));
  });
}

/** Calls completed in `ms` by `concurrency` loops of `fn`; with the per-call latencies. */
export async function loadFor(
  ms: number,
  concurrency: number,
  fn: () => Promise<unknown>,
): Promise<{ ops: number; perSec: number; lat: number[] }> {
  const end = performance.now() + ms;
  const lat: number[] = [];
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      await fn();
      lat.push(Number(process.hrtime.bigint() - t0));
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const dt = performance.now() - t0;
  return { ops: lat.length, perSec: Math.round((lat.length / dt) * 1000), lat };
}

export function rssMb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) of a process's main thread, in ms (from /proc; ticks of 10 ms). */
export function mainThreadCpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used, in ms (from /proc; clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Time several clients' calls interleaved so that load from other processes falls on all of
 * them alike; returns the per-call latencies (ns) of each. With `block` 1 the calls alternate
 * one by one (a, b, c, a, ...): every process then idles while the others are called. With a
 * larger `block` each round makes `block` back-to-back calls per client (after a few unmeasured
 * ones), the order reversed every other round: a closed loop on warm, awake processes, as a
 * single client calling a server sees it.
 */
export async function interleaved(
  fns: (() => Promise<unknown>)[],
  rounds: number,
  budgetMs: number,
  block = 1,
  /** Called with each client's index around its turns (e.g. to read a process's CPU time). */
  around?: { before(i: number): void; after(i: number): void },
): Promise<number[][]> {
  const out = fns.map(() => [] as number[]);
  const end = performance.now() + budgetMs;
  const lead = block > 1 ? Math.min(20, block) : 0;
  for (let r = 0; r < rounds && (r < 3 || performance.now() < end); r++) {
    for (let j = 0; j < fns.length; j++) {
      const i = r % 2 === 1 && block > 1 ? fns.length - 1 - j : j;
      const fn = fns[i]!;
      for (let k = 0; k < lead; k++) await fn();
      around?.before(i);
      for (let k = 0; k < block; k++) {
        const t0 = process.hrtime.bigint();
        await fn();
        out[i]!.push(Number(process.hrtime.bigint() - t0));
      }
      around?.after(i);
    }
  }
  return out;
}
