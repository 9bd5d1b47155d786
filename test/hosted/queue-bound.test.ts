/**
 * The worker pool's own queue is bounded (src/hosted/pool.ts, `max_queued`): with every worker
 * thread busy, at most max_queued calls of a component wait for one (default 64: an unset bound
 * is the default, never unbounded); past it a call is refused at once with hosted_queue_full,
 * naming the component and the setting. Hostile: a real SDK client floods `warden serve` (one
 * worker) with calls while a slow call holds the worker: the excess is refused, the rest
 * complete, and the server keeps answering.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, tempDir } from "../mcp/helpers.js";
import { type Answer, code, withHosted } from "./_hosted.js";
import { CACHE, watComponent } from "./build.js";

let comp: string;
let policy: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  comp = await watComponent("peeksleeper");
  policy = join(tempDir(), "limits.yaml");
  writeFileSync(policy, 'version: "1.0"\nresources:\n  limits:\n    execution_time: 2s\n');
});

describe("the worker pool's queue", () => {
  it("is bounded when nothing sets it: 64 calls wait, the 65th is refused naming max_queued", {
    timeout: 60_000,
  }, async () => {
    await withHosted(
      {
        path: comp,
        policies: [policy],
        pool: { size: 1, graceMs: 200 },
      },
      async (h) => {
        const name = h.components[0]!.name;
        await h.call("tools.ok", {});
        const slow = h.call("tools.peek-then-sleep", {});
        const flood = Array.from({ length: 70 }, () => h.call("tools.ok", {}));
        expect(h.pool.queuedCalls(name)).toBe(64);
        const answers = (await Promise.all(flood)) as Answer[];
        const refused = answers.filter((a) => code(a) === "hosted_queue_full");
        expect(refused).toHaveLength(6);
        expect(refused[0]!.content[0]!.text).toContain(`component "${name}"`);
        expect(refused[0]!.content[0]!.text).toContain("max_queued: 64");
        expect(answers.filter((a) => code(a) === undefined)).toHaveLength(64);
        expect(code((await slow) as Answer)).toBe("timeout");
        expect(h.pool.queuedCalls(name)).toBe(0);
      },
    );
  });

  it("a cancelled waiting call leaves the queue and never runs (hosted_cancelled)", {
    timeout: 60_000,
  }, async () => {
    await withHosted(
      {
        path: comp,
        policies: [policy],
        pool: { size: 1, graceMs: 200, maxQueued: 2 },
      },
      async (h) => {
        const name = h.components[0]!.name;
        await h.call("tools.ok", {});
        const slow = h.call("tools.peek-then-sleep", {});
        const ac = new AbortController();
        const waiting = h.call("tools.ok", {}, { signal: ac.signal });
        const other = h.call("tools.ok", {});
        expect(h.pool.queuedCalls(name)).toBe(2);
        ac.abort();
        expect(code((await waiting) as Answer)).toBe("hosted_cancelled");
        expect(h.pool.queuedCalls(name)).toBe(1);
        // Its place is free again.
        const third = h.call("tools.ok", {});
        expect(h.pool.queuedCalls(name)).toBe(2);
        expect(((await other) as Answer).structuredContent).toEqual({ result: 7 });
        expect(((await third) as Answer).structuredContent).toEqual({ result: 7 });
        expect(code((await slow) as Answer)).toBe("timeout");
      },
    );
  });

  it("hostile: a client floods warden serve while a slow call holds the only worker", {
    timeout: 120_000,
  }, async () => {
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", comp, "--policy", policy, "--workers", "1", "--max-queued", "4"],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "flood", version: "1" });
    await c.connect(t);
    try {
      const call = (name: string) =>
        c.callTool({ name, arguments: {} }, undefined, { timeout: 60_000 }) as Promise<Answer>;
      expect((await call("tools.ok")).structuredContent).toEqual({ result: 7 });
      const slow = call("tools.peek-then-sleep");
      // Let the slow call reach the worker before the flood.
      await new Promise((r) => setTimeout(r, 300));
      const answers = await Promise.all(Array.from({ length: 40 }, () => call("tools.ok")));
      const refused = answers.filter((a) => code(a) === "hosted_queue_full");
      const done = answers.filter((a) => code(a) === undefined);
      expect(refused).toHaveLength(36);
      expect(refused[0]!.content[0]!.text).toMatch(/component "[^"]+" already has 4 call/);
      expect(refused[0]!.content[0]!.text).toContain("--max-queued: 4");
      expect(done.map((a) => a.structuredContent)).toEqual(Array(4).fill({ result: 7 }));
      expect(code(await slow)).toBe("timeout");
      // The server is healthy: it lists and answers as before.
      expect((await c.listTools()).tools.length).toBe(2);
      expect((await call("tools.ok")).structuredContent).toEqual({ result: 7 });
    } finally {
      await c.close();
    }
  });
});
