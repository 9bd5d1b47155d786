/**
 * A per-call instance is put back to its image after its answer is posted (src/hosted/worker/
 * run.ts), whatever its size, and before its worker takes the next message: a call that follows
 * at once (back to back, answered on the calling thread; or queued behind it and sent the moment
 * the answer arrives) still sees nothing the previous call left. And a worker woken ahead of
 * requests (`prewake`, `warden serve` over stdio), which no longer polls between calls, still
 * takes every call. Real component (test/hosted/fixtures/counter.wat: a count in its memory and
 * a mutable global), real worker threads.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HostedServer } from "../../src/hosted/server.js";
import { CACHE, watComponent } from "./build.js";

let counter = "";

beforeAll(async () => {
  counter = await watComponent("counter");
});

type Answer = { structuredContent?: unknown; isError?: boolean };

describe("fresh state per call, the reset after the answer", () => {
  it("back to back, queued behind a call, and after a wake-up ahead of a request: every call starts from the image", {
    timeout: 120_000,
  }, async () => {
    const h = await HostedServer.open({ path: counter, cacheDir: CACHE, pool: { size: 1 } });
    try {
      // Back to back: the pool learns the call is short and takes its answer on this thread.
      for (let i = 0; i < 200; i++)
        expect(((await h.call("tools.next", {})) as Answer).structuredContent).toEqual({
          result: 1,
        });
      // Queued: each call is sent as soon as the previous answer arrives, while the worker may
      // still be resetting; it takes the message only after the reset.
      const many = await Promise.all(
        Array.from({ length: 40 }, () => h.call("tools.next", {}) as Promise<Answer>),
      );
      for (const a of many) expect(a.structuredContent).toEqual({ result: 1 });
      // Woken ahead of each request (as `warden serve` does when bytes arrive on stdin).
      for (let i = 0; i < 50; i++) {
        h.pool.prewake();
        expect(((await h.call("tools.next", {})) as Answer).structuredContent).toEqual({
          result: 1,
        });
      }
    } finally {
      await h.close();
    }
  });
});
