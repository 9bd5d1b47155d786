/**
 * Waking a worker ahead of a request (src/hosted/pool.ts `prewake`, src/hosted/worker/entry.ts:
 * `warden serve` wakes the worker that answered last when bytes arrive on stdin, so it polls
 * for the call while the SDK parses it) changes no outcome: a worker woken for a request that
 * never comes goes back to sleep and takes the next call; the deadline still ends an infinite
 * loop (the sandbox's metering) and a host call that never returns (the worker terminated from
 * outside); while one call blocks in a host call, the event loop keeps turning and another
 * session's call is answered. Real components, real worker threads.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HostedServer } from "../../src/hosted/server.js";
import { tempDir } from "../mcp/helpers.js";
import { CACHE, watComponent } from "./build.js";

let hostile: string;
let sleeper: string;
let policy: string;
let slow: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  hostile = await watComponent("hostile");
  sleeper = await watComponent("sleeper");
  policy = join(tempDir(), "limits.yaml");
  writeFileSync(policy, 'version: "1.0"\nresources:\n  limits:\n    execution_time: 300ms\n');
  slow = join(tempDir(), "slow.yaml");
  writeFileSync(slow, 'version: "1.0"\nresources:\n  limits:\n    execution_time: 2s\n');
});

type Answer = {
  structuredContent?: unknown;
  isError?: boolean;
  _meta?: Record<string, unknown>;
};
const error = (a: Answer) =>
  a._meta?.["warden/error"] as { code?: string; details?: Record<string, unknown> } | undefined;
const turn = () => new Promise<void>((r) => setTimeout(r, 1));

describe("a worker woken ahead of a request", () => {
  it("that never comes sleeps again, takes the next call; an infinite loop still ends at its deadline", {
    timeout: 60_000,
  }, async () => {
    const h = await HostedServer.open({
      path: hostile,
      policies: [policy],
      cacheDir: CACHE,
      pool: { size: 1, graceMs: 200 },
    });
    try {
      expect(((await h.call("tools.ok", {})) as Answer).structuredContent).toEqual({ result: 42 });
      for (let i = 0; i < 50; i++) {
        h.pool.prewake();
        await turn();
      }
      expect(((await h.call("tools.ok", {})) as Answer).structuredContent).toEqual({ result: 42 });
      h.pool.prewake();
      const spin = h.call("tools.spin", {});
      h.pool.prewake(); // the worker is busy: nothing happens
      const r = (await spin) as Answer;
      expect(r.isError).toBe(true);
      expect(error(r)?.code).toBe("timeout");
      h.pool.prewake();
      expect(((await h.call("tools.ok", {})) as Answer).structuredContent).toEqual({ result: 42 });
    } finally {
      await h.close();
    }
  });

  it("a host call that never returns is still ended from outside; meanwhile the event loop turns and another session is answered", {
    timeout: 60_000,
  }, async () => {
    const h = await HostedServer.open({
      path: sleeper,
      policies: [slow],
      cacheDir: CACHE,
      pool: { size: 2, graceMs: 200 },
    });
    try {
      // Both workers started and warm (a cold one instantiates for a while).
      const warm = await Promise.all([h.call("tools.ok", {}), h.call("tools.ok", {})]);
      expect(warm.map((a) => (a as Answer).structuredContent)).toEqual([
        { result: 7 },
        { result: 7 },
      ]);
      expect(h.pool.workers).toBe(2);
      h.pool.prewake();
      const blocked = h.call("tools.sleep", {}, { session: "a" });
      let ended = false;
      void blocked.then(() => {
        ended = true;
      });
      // The main thread is not held by the blocked worker: timers fire, prewakes return, and
      // the other session's calls are answered while the sleeper still waits.
      for (let i = 0; i < 5; i++) {
        h.pool.prewake();
        await turn();
        const other = (await h.call("tools.ok", {}, { session: "b" })) as Answer;
        expect(other.structuredContent).toEqual({ result: 7 });
      }
      expect(ended).toBe(false);
      const r = (await blocked) as Answer;
      expect(error(r)?.code).toBe("timeout");
      expect(error(r)?.details?.enforced).toBe("worker terminated");
      expect(h.pool.replaced).toBe(1);
      h.pool.prewake();
      expect(((await h.call("tools.ok", {})) as Answer).structuredContent).toEqual({ result: 7 });
    } finally {
      await h.close();
    }
  });
});
