/**
 * `resources.limits.cpu` for hosted components (src/hosted/cpu.ts): `cpu: 1` lets one call of
 * the component run at a time, however many worker threads the pool has; a fraction of a core
 * cannot be enforced on a thread and is refused at load, located in the policy file. A flood of
 * calls waits in a bounded queue (past it: hosted_cpu_queue_full), and a cancelled waiter leaves it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { WardenError } from "../../src/core/errors.js";
import { HostedServer } from "../../src/hosted/server.js";
import { tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let comp: string;
let dir: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  comp = await watComponent("peeksleeper");
  dir = tempDir();
});

function policy(name: string, cpu: string): string {
  const f = join(dir, name);
  writeFileSync(
    f,
    `version: "1.0"\nresources:\n  limits:\n    cpu: ${cpu}\n    execution_time: 3s\n`,
  );
  return f;
}

describe("resources.limits.cpu", () => {
  it("a fraction of a core is refused at load, located", async () => {
    const f = policy("half.yaml", '"500m"');
    const err = await HostedServer.open({ path: comp, policies: [f], cacheDir: CACHE }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).code).toBe("hosted_limit_unenforceable");
    expect((err as WardenError).message).toContain(`${f}:4:10`);
    expect((err as WardenError).message).toContain("execution_time");
  });

  it.each([
    { cpu: 1, order: ["slow", "quick"], what: "one call at a time: the second waits" },
    { cpu: 2, order: ["quick", "slow"], what: "two calls at once" },
  ])(
    "cpu: $cpu runs $what, with two worker threads",
    { timeout: 60_000 },
    async ({ cpu, order: expected }) => {
      const f = policy(`cpu${cpu}.yaml`, String(cpu));
      const h = await HostedServer.open({
        path: comp,
        policies: [f],
        cacheDir: CACHE,
        pool: { size: 2, graceMs: 200 },
      });
      try {
        await h.call("tools.ok", {});
        const order: string[] = [];
        // The slow call holds its core until its deadline ends it.
        const slow = h.call("tools.peek-then-sleep", {}).then((a) => {
          order.push("slow");
          return a;
        });
        const quick = h.call("tools.ok", {}).then((a) => {
          order.push("quick");
          return a;
        });
        const [s, q] = await Promise.all([slow, quick]);
        expect(s.isError).toBe(true);
        expect(q.structuredContent).toEqual({ result: 7 });
        expect(order).toEqual(expected);
      } finally {
        await h.close();
      }
    },
  );

  it("a flood of calls from several sessions: never more than cpu at once, a bounded queue, cancelled waiters leave it", {
    timeout: 60_000,
  }, async () => {
    const f = policy("flood.yaml", "2");
    const h = await HostedServer.open({
      path: comp,
      policies: [f],
      cacheDir: CACHE,
      cpuWaiting: 8,
      pool: { size: 4, graceMs: 200 },
    });
    try {
      const name = h.components[0]!.name;
      // What reaches the worker pool, and how much of it at once.
      let running = 0;
      let most = 0;
      let reached = 0;
      const call = h.pool.call.bind(h.pool);
      h.pool.call = (...a: Parameters<typeof call>) => {
        reached++;
        most = Math.max(most, ++running);
        return call(...a).finally(() => running--);
      };
      await h.call("tools.ok", {});
      const slow = [0, 1].map((i) => h.call("tools.peek-then-sleep", {}, { session: `s${i}` }));
      expect(h.cpuLoad(name)).toEqual({ running: 2, waiting: 0 });
      const aborts: AbortController[] = [];
      const flood = Array.from({ length: 30 }, (_, i) => {
        const ac = new AbortController();
        aborts.push(ac);
        return h.call("tools.ok", {}, { session: `s${i % 3}`, signal: ac.signal });
      });
      // 8 wait; the other 22 are refused at once, never run.
      expect(h.cpuLoad(name)).toEqual({ running: 2, waiting: 8 });
      const code = (a: { _meta?: Record<string, unknown> }) =>
        (a._meta?.["warden/error"] as { code?: string } | undefined)?.code;
      const refused = await Promise.all(flood.slice(8));
      expect(refused.map(code)).toEqual(Array(22).fill("hosted_cpu_queue_full"));
      expect(refused[0]!.content[0]!.text).toContain("resources.limits.cpu: 2");
      // Cancel half of the waiting calls: they leave the queue at once.
      for (const ac of aborts.slice(0, 4)) ac.abort();
      const cancelled = await Promise.all(flood.slice(0, 4));
      expect(cancelled.map(code)).toEqual(Array(4).fill("hosted_cancelled"));
      expect(h.cpuLoad(name)).toEqual({ running: 2, waiting: 4 });
      const rest = await Promise.all(flood.slice(4, 8));
      expect(rest.map((a) => a.structuredContent)).toEqual(Array(4).fill({ result: 7 }));
      for (const s of await Promise.all(slow)) expect(code(s)).toBe("timeout");
      expect(most).toBeLessThanOrEqual(2);
      // The warm-up, the two slow calls and the four that waited: nothing else ran.
      expect(reached).toBe(7);
      expect(h.cpuLoad(name)).toEqual({ running: 0, waiting: 0 });
    } finally {
      await h.close();
    }
  });
});
