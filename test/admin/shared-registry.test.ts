// The plugin registry shared through Redis (issue 24, "the admin registry"): two registry
// instances and a real redis-server. A plugin uploaded on one is listed and invoked on the
// other; a delete and a disable follow; invocation counts are summed across instances; with
// Redis down each keeps serving what it has and uploads are refused saying why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SharedRegistry } from "../../src/admin/shared-registry.js";
import { PluginRegistry } from "../../src/rules/registry/index.js";
import { RedisState } from "../../src/state/index.js";
import { REDIS_DEFAULTS } from "../../src/state/settings.js";
import { until } from "../mcp/helpers.js";
import { RedisServer } from "../state/redis-server.js";
import { spamPlugin, tempDir, wat } from "./helpers.js";

async function instance(url: string) {
  const state = RedisState.open({ ...REDIS_DEFAULTS, url, keyPrefix: "t:" });
  await state.waitUp(5000);
  const share = new SharedRegistry(state, { syncMs: 50 });
  const registry = await PluginRegistry.open({ stateDir: tempDir(), cacheDir: false, share });
  await share.attach(registry);
  return {
    state,
    share,
    registry,
    close: async () => {
      share.close();
      await registry.close();
      await state.close();
    },
  };
}

describe("the plugin registry shared through Redis", () => {
  let redis: RedisServer;
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;
  beforeAll(async () => {
    redis = await RedisServer.start();
    a = await instance(redis.url);
    b = await instance(redis.url);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  it("a plugin uploaded on one instance is listed and used by the other; counts are summed", async () => {
    await a.registry.register({ name: "spam", bytes: await spamPlugin() });
    await until(() => b.registry.has("spam"), 10_000);
    expect(b.registry.info("spam")).toMatchObject({ source: "api", enabled: true });
    expect(b.registry.invoke("spam", "evaluate", { action_type: "spam" })).toMatchObject({
      verdict: false,
    });
    for (let i = 0; i < 2; i++) a.registry.invoke("spam", "evaluate", { action_type: "x" });
    for (let i = 0; i < 2; i++) b.registry.invoke("spam", "evaluate", { action_type: "x" });
    // 2 on a, 3 on b: both list 5 once each pushed its counts
    await until(
      () =>
        a.registry.info("spam").invocation_count === 5 &&
        b.registry.info("spam").invocation_count === 5,
      10_000,
    );
    // the same name uploaded on the other instance is refused
    await expect(b.registry.register({ name: "spam", bytes: await wat("allow") })).rejects.toThrow(
      /registered already/,
    );
  });

  it("a disable and a delete on one instance follow on the other", async () => {
    await a.registry.register({ name: "gone", bytes: await wat("allow") });
    await until(() => b.registry.has("gone"), 10_000);
    await b.registry.setEnabled("gone", false);
    await until(() => a.registry.info("gone").enabled === false, 10_000);
    await a.registry.delete("gone");
    await until(() => !b.registry.has("gone"), 10_000);
  });

  it("Redis down: both keep serving what they have, an upload is refused saying why; back up, they catch up", async () => {
    await redis.stop();
    await until(() => !a.state.up && !b.state.up, 10_000);
    expect(b.registry.invoke("spam", "evaluate", { action_type: "spam" })).toMatchObject({
      verdict: false,
    });
    const err = await a.registry
      .register({ name: "late", bytes: await wat("allow") })
      .catch((e: Error & { code?: string }) => e);
    expect((err as { code?: string }).code).toBe("state_unavailable");
    expect((err as Error).message).toMatch(/Redis at redis:\/\/127\.0\.0\.1.*a plugin upload/);
    expect(a.registry.has("late")).toBe(false);
    await redis.start();
    await until(() => a.state.up && b.state.up, 15_000);
    // Redis came back empty (no persistence in the test): the instances publish what they
    // have again instead of dropping it; a new upload works again and reaches the other
    await a.registry.register({ name: "late", bytes: await wat("allow") });
    await until(() => b.registry.has("late"), 10_000);
    expect(a.registry.has("spam") && b.registry.has("spam")).toBe(true);
  });
});
