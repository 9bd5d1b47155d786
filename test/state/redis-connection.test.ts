import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWardenError } from "../../src/core/errors.js";
import { parseConfig } from "../../src/mcp/config.js";
import { REDIS_DEFAULTS, RedisState, shownUrl } from "../../src/state/index.js";
import { RedisServer } from "./redis-server.js";

const settings = (url: string) => ({ ...REDIS_DEFAULTS, url, commandTimeoutMs: 2000 });

describe("state.redis connection", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it("connects, reports health, fails at once while Redis is down and recovers by itself", async () => {
    const seen: string[] = [];
    const s = RedisState.open(settings(redis.url), { onHealth: (h) => seen.push(h.state) });
    try {
      expect(await s.waitUp(10_000)).toBe(true);
      expect(s.health()).toMatchObject({ state: "up", url: redis.url });
      expect(await s.client.ping()).toBe("PONG");
      await redis.stop();
      // no offline queue: a command while Redis is down fails, it does not wait for Redis
      await expect(s.client.ping()).rejects.toThrow();
      expect(s.health().state).not.toBe("up");
      await redis.start();
      expect(await s.waitUp(20_000)).toBe(true);
      expect(await s.client.ping()).toBe("PONG");
      expect(seen).toContain("down");
      expect(seen.at(-1)).toBe("up");
    } finally {
      await s.close();
    }
  });

  it("says state_unavailable naming the URL without its password", () => {
    const s = RedisState.open(settings("redis://user:s3cret@127.0.0.1:1/0"));
    try {
      const e = s.unavailable("a rate-limited call");
      expect(isWardenError(e) && e.code).toBe("state_unavailable");
      expect(e.message).toContain("redis://user:***@127.0.0.1:1/0");
      expect(e.message).not.toContain("s3cret");
      expect(e.message).toContain("a rate-limited call is refused");
    } finally {
      void s.close();
    }
    expect(shownUrl("not a url s3cret")).toBe("(unparsable Redis URL)");
  });

  it("refuses url_env naming an unset variable", () => {
    expect(() =>
      RedisState.open({ ...REDIS_DEFAULTS, urlEnv: "WARDEN_TEST_NO_SUCH_VAR" }, { env: {} }),
    ).toThrow(/state_unavailable|url_env names WARDEN_TEST_NO_SUCH_VAR/);
  });
});

describe("warden.yaml state.redis", () => {
  const base = "policy: p.yaml\nupstreams: [{ name: a, command: x }]\n";
  const errors = (text: string) => {
    const r = parseConfig(base + text, "/w/warden.yaml");
    return r.ok ? [] : r.errors.map((e) => `${e.line} ${e.code} ${e.key}: ${e.message}`);
  };

  it("reads url, key_prefix and the timeouts with their defaults", () => {
    const r = parseConfig(
      `${base}state: { redis: { url: "redis://127.0.0.1:6379/2", key_prefix: "team-a:" } }\n`,
      "/w/warden.yaml",
    );
    expect(r.ok && r.config.state?.redis).toEqual({
      url: "redis://127.0.0.1:6379/2",
      keyPrefix: "team-a:",
      connectTimeoutMs: 2000,
      commandTimeoutMs: 1000,
      maxReconnectDelayMs: 2000,
    });
    const e = parseConfig(`${base}state: { redis: { url_env: REDIS_URL } }\n`, "/w/warden.yaml");
    expect(e.ok && e.config.state?.redis?.urlEnv).toBe("REDIS_URL");
  });

  it("locates each problem at its line and key", () => {
    expect(errors("state:\n  redis:\n    url: http://x\n")).toEqual([
      "5 invalid_value state.redis.url: state.redis.url has scheme http: where redis: or rediss: (TLS) is needed.",
    ]);
    expect(errors("state:\n  redis: { url: redis://h, url_env: R }\n")[0]).toMatch(
      /^4 conflicting_keys state.redis.url_env: state.redis has both url and url_env/,
    );
    expect(errors("state:\n  redis: { key_prefix: x }\n")[0]).toMatch(
      /^4 missing_key state.redis: state.redis needs url/,
    );
    expect(errors("state:\n  redis: { url: redis://h, key_prefix: 'a b' }\n")[0]).toMatch(
      /^4 invalid_value state.redis.key_prefix/,
    );
    expect(errors("state:\n  redis: { url: redis://h, command_timeout_ms: 0 }\n")[0]).toMatch(
      /^4 invalid_value state.redis.command_timeout_ms/,
    );
    expect(errors("state:\n  redis: { url: redis://h, urll: x }\n")[0]).toMatch(
      /^4 unknown_key state.redis.urll/,
    );
  });
});
