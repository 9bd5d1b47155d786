/**
 * What a shared rate-limit window costs per limited call (state.redis, docs/policy.md "Rate
 * limits across gateways"; issue 24's goal: at most +300 µs p50 on loopback Redis). Side by side
 * in one run: the policy check taking the in-memory window, and the same check deferring the
 * take (`CheckOptions.limits`) followed by the Lua take on a redis-server of its own (no
 * persistence) over one ioredis connection, as the gateway does per limited call. Both are timed
 * alone, awaited. The note gives the added p50 and `uptime`'s load.
 * `npm run bench -- --only ratelimit`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicy, type DeferredLimits } from "../src/policy/index.js";
import { REDIS_DEFAULTS, RedisLimiter, RedisState } from "../src/state/index.js";
import type { Harness } from "./harness.js";

const POLICY = `version: "1.0"
mcp:
  tools:
    allow:
      - name: add
        max_calls_per_minute: 100000
`;

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

async function redisServer(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir];
  const proc = spawn("redis-server", [...args, "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
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

export default async function (h: Harness): Promise<void> {
  const compiled = compilePolicy(POLICY);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const p = compiled.policy;
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-redis-"));
  const { proc, url } = await redisServer(dir);
  const state = RedisState.open({ ...REDIS_DEFAULTS, url });
  try {
    if (!(await state.waitUp(10_000))) throw new Error(`redis at ${url} did not come up`);
    const limiter = new RedisLimiter(state);
    let i = 0;
    // 1000 callers, so that no window fills during the run (allowed calls are what is measured)
    const memory = await h.measureAsync(
      "rate-limited tools/call check: in-memory window",
      async () => {
        const d = p.check({ kind: "tool.call", name: "add", caller: `c${i++ % 1000}` });
        if (!d.allowed) throw new Error(d.reason);
        return d;
      },
    );
    const redis = await h.measureAsync(
      "rate-limited tools/call check: Redis window (loopback, Lua take)",
      async () => {
        const limits: DeferredLimits = { pending: undefined, exhausted: new Set() };
        const d = p.check({ kind: "tool.call", name: "add", caller: `r${i++ % 1000}` }, { limits });
        const l = limits.pending!;
        const r = await limiter.take(l.limiter.key, l.limiter.perMinute, l.tool, l.caller);
        if (!d.allowed || !r.allowed) throw new Error("refused");
        return r;
      },
    );
    const added = (redis.p50_ns - memory.p50_ns) / 1000;
    redis.note = `+${added.toFixed(0)} µs p50 over the in-memory row (goal <= 300 µs); load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`;
  } finally {
    await state.close();
    proc.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
