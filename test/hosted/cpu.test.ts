/**
 * `resources.limits.cpu` for hosted components (src/hosted/cpu.ts): `cpu: 1` lets one call of
 * the component run at a time, however many worker threads the pool has; a fraction of a core
 * cannot be enforced on a thread and is refused at load, located in the policy file.
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

  it("cpu: 1 runs one call of the component at a time, with two worker threads", {
    timeout: 60_000,
  }, async () => {
    const f = policy("one.yaml", "1");
    const h = await HostedServer.open({
      path: comp,
      policies: [f],
      cacheDir: CACHE,
      pool: { size: 2, graceMs: 200 },
    });
    try {
      await h.call("tools.ok", {});
      const order: string[] = [];
      // The first call holds its core until its deadline ends it; the second waits for it.
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
      expect(order).toEqual(["slow", "quick"]);
    } finally {
      await h.close();
    }
  });

  it("cpu: 2 lets two calls run at once", { timeout: 60_000 }, async () => {
    const f = policy("two.yaml", "2");
    const h = await HostedServer.open({
      path: comp,
      policies: [f],
      cacheDir: CACHE,
      pool: { size: 2, graceMs: 200 },
    });
    try {
      await h.call("tools.ok", {});
      const order: string[] = [];
      const slow = h.call("tools.peek-then-sleep", {}).then(() => order.push("slow"));
      const quick = h.call("tools.ok", {}).then(() => order.push("quick"));
      await Promise.all([slow, quick]);
      expect(order).toEqual(["quick", "slow"]);
    } finally {
      await h.close();
    }
  });
});
