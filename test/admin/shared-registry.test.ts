// The plugin registry shared through Redis (issue 24, "the admin registry"): two registry
// instances and a real redis-server. A plugin uploaded on one is listed and invoked on the
// other; a delete and a disable follow; invocation counts are summed across instances; with
// Redis down each keeps serving what it has and uploads are refused saying why. Hostile: entries
// and modules planted in Redis by another client, a count push whose answer is lost.
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SharedRegistry } from "../../src/admin/shared-registry.js";
import { MAX_MODULE_BYTES, PluginRegistry } from "../../src/rules/registry/index.js";
import { RedisState } from "../../src/state/index.js";
import { REDIS_DEFAULTS } from "../../src/state/settings.js";
import { until } from "../mcp/helpers.js";
import { RedisServer } from "../state/redis-server.js";
import { spamPlugin, tempDir, wat } from "./helpers.js";

async function instance(url: string, commandTimeoutMs: number = REDIS_DEFAULTS.commandTimeoutMs) {
  const state = RedisState.open({ ...REDIS_DEFAULTS, url, keyPrefix: "t:", commandTimeoutMs });
  await state.waitUp(5000);
  const logged: string[] = [];
  const line = (o: object, m?: string) => logged.push(`${m ?? ""} ${JSON.stringify(o)}`);
  const log = { debug: () => {}, info: line, warn: line, error: line };
  const share = new SharedRegistry(state, { syncMs: 50, log });
  const registry = await PluginRegistry.open({ stateDir: tempDir(), cacheDir: false, share });
  await share.attach(registry);
  return {
    state,
    share,
    registry,
    logged,
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

  it("a plugin deleted elsewhere before its uploader's next sync is dropped there too", async () => {
    const raw = new Redis(redis.url);
    try {
      await a.registry.register({ name: "quick", bytes: await wat("allow") });
      // another instance's delete, at once (before a has read the index since its upload)
      await raw.hdel("t:registry:index", "quick");
      await until(() => !a.registry.has("quick"), 10_000, "a drops the deleted plugin");
    } finally {
      raw.disconnect();
    }
  });

  it("last_invoked_at is the latest of all instances", async () => {
    b.registry.invoke("spam", "evaluate", { action_type: "x" });
    const last = b.registry.info("spam").last_invoked_at;
    expect(last).not.toBeNull();
    await until(() => a.registry.info("spam").last_invoked_at === last, 10_000);
  });

  it("entries and modules planted in Redis by another client are skipped, the error names the key; nothing crashes", async () => {
    const raw = new Redis(redis.url);
    try {
      const hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      const entry = (name: string, sha256: string) =>
        JSON.stringify({
          name,
          description: null,
          enabled: true,
          memory_limit_bytes: 16 << 20,
          timeout_ms: 100,
          registered_at: new Date().toISOString(),
          sha256,
        });
      const huge = Buffer.alloc(MAX_MODULE_BYTES + 1, 1);
      const hugeSha = hex(huge);
      const allow = await wat("allow");
      const wrongSha = "0".repeat(64);
      await raw.set(`t:registry:module:${hugeSha}`, huge);
      await raw.set(`t:registry:module:${wrongSha}`, Buffer.from(allow));
      await raw.hset("t:registry:index", {
        corrupt: "{not json",
        typed: JSON.stringify({ name: "typed", sha256: 1 }),
        huge: entry("huge", hugeSha),
        mismatch: entry("mismatch", wrongSha),
        missing: entry("missing", "1".repeat(64)),
      });
      const from = b.share.syncs;
      await until(() => b.share.syncs >= from + 3, 10_000);
      for (const name of ["corrupt", "typed", "huge", "mismatch", "missing"])
        expect(b.registry.has(name), name).toBe(false);
      const text = b.logged.join("\n");
      expect(text).toMatch(/"corrupt" in t:registry:index is not a plugin entry/);
      expect(text).toMatch(/"typed" in t:registry:index is not a plugin entry/);
      expect(text).toContain(
        `t:registry:module:${hugeSha} of plugin "huge" is past the module size limit`,
      );
      expect(text).toContain(`t:registry:module:${"1".repeat(64)} of plugin "missing" is missing`);
      expect(text).toMatch(/"mismatch" \(t:registry:module:0{64}\) could not be loaded: .*sha256/);
      // once per problem, not once per sync
      expect(b.logged.filter((l) => l.includes('"corrupt"')).length).toBe(1);
      // the instance goes on: syncing and serving
      expect(b.registry.invoke("spam", "evaluate", { action_type: "spam" })).toMatchObject({
        verdict: false,
      });
      await raw.hdel("t:registry:index", "corrupt", "typed", "huge", "mismatch", "missing");
    } finally {
      raw.disconnect();
    }
  });

  it("a count push whose answer timed out after Redis applied it is not counted twice", async () => {
    // c's commands time out after 100 ms; CLIENT PAUSE WRITE holds its push in Redis past that,
    // then Redis applies it: the answer is lost, c sends the same push again
    const c = await instance(redis.url, 100);
    const raw = new Redis(redis.url);
    try {
      await a.registry.register({ name: "tally", bytes: await wat("allow") });
      await until(() => c.registry.has("tally") && b.registry.has("tally"), 10_000);
      await raw.call("CLIENT", "PAUSE", "1500", "WRITE");
      for (let i = 0; i < 3; i++) c.registry.invoke("tally", "evaluate", { action_type: "x" });
      await until(() => c.logged.some((l) => /cannot be read/.test(l)), 10_000);
      await until(() => b.registry.info("tally").invocation_count === 3, 15_000);
      const from = b.share.syncs;
      await until(() => b.share.syncs >= from + 5, 10_000);
      expect(
        Number(await raw.hget("t:registry:counts", `tally@${b.registry.info("tally").sha256}`)),
      ).toBe(3);
      expect(b.registry.info("tally").invocation_count).toBe(3);
    } finally {
      raw.disconnect();
      await c.close();
    }
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
