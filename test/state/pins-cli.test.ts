// `warden pins list` and `warden pins approve` (the real CLI) against the pins in a real
// redis-server when --config has state.redis: what a gateway pinned is listed and approved
// there; Redis unreachable, a key of the wrong type or a corrupted pin are clear errors.
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRugPull } from "../../src/guards/builtin/rug-pull.js";
import type { GuardTool } from "../../src/guards/types.js";
import { REDIS_DEFAULTS, RedisPins, RedisState } from "../../src/state/index.js";
import { pinField } from "../../src/state/pin-records.js";
import { specOf } from "../guards/helpers.js";
import { CLI, stdioUpstream, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import { RedisServer } from "./redis-server.js";

let redis: RedisServer;
let peek: Redis;

beforeAll(async () => {
  redis = await RedisServer.start();
  peek = new Redis(redis.url, { maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  peek?.disconnect();
  await redis?.close();
});

function config(redisKeys: string): string {
  return writeGatewayFiles(
    tempDir(),
    `state:
  redis: { ${redisKeys} }
security_guards:
  - id: rp
    type: rug_pull
policy: ./policy.yaml
upstreams:
${stdioUpstream("fx")}`,
  );
}

function warden(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    p.on("close", (code) => ok({ code: code ?? -1, out, err }));
  });
}

/** Pin v1 then see v2 of "add", as a gateway of `prefix` would. */
async function seed(prefix: string): Promise<void> {
  const state = RedisState.open({ ...REDIS_DEFAULTS, url: redis.url, keyPrefix: prefix });
  const pins = new RedisPins(state);
  try {
    await state.waitUp(5000);
    const g = createRugPull(specOf({ id: "rp", type: "rug_pull" }), Date.now, pins);
    const ctx = { serverName: "fx" };
    const v1: GuardTool[] = [
      { name: "add", description: "Adds." },
      { name: "echo", description: "Echoes." },
    ];
    for (const tools of [v1, [{ name: "add", description: "Adds. And more." }, v1[1]!]]) {
      await g.prepare?.("tools_list", tools, ctx);
      g.evaluate("tools_list", tools, ctx);
    }
  } finally {
    pins.close();
    await state.close();
  }
}

describe("warden pins with state.redis", () => {
  it("lists and approves the pins in Redis (url_env), not a file", async () => {
    await seed("cli1:");
    const file = config(`url_env: T_REDIS, key_prefix: "cli1:"`);
    const env = { T_REDIS: redis.url };
    const list = await warden(["pins", "list", "--config", file], env);
    expect(list.code, list.err).toBe(0);
    expect(JSON.parse(list.out)).toEqual([
      {
        server: "fx",
        tool: "add",
        hash: expect.stringMatching(/^sha256:/),
        status: "changed",
        pending_hash: expect.stringMatching(/^sha256:/),
        description: "Adds.",
        pending_description: "Adds. And more.",
      },
      { server: "fx", tool: "echo", hash: expect.stringMatching(/^sha256:/), status: "pinned" },
    ]);
    const ok = await warden(["pins", "approve", "fx", "add", "--config", file], {
      ...env,
      USER: "alice",
    });
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject([{ server: "fx", tool: "add", status: "pinned" }]);
    const stored = JSON.parse((await peek.hget("cli1:pins", pinField("fx", "add")))!);
    expect(stored).toMatchObject({ description: "Adds. And more.", approved_by: "alice" });
    expect(stored.pending).toBeUndefined();
    const again = await warden(["pins", "approve", "fx", "add", "--config", file], env);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(
      /pin_not_found: No pending change for tool "add" of server "fx" in Redis \(key cli1:pins\)/,
    );
  });

  it("Redis unreachable: exit 3, state_unavailable naming the URL without its password", async () => {
    const file = config(`url: "redis://user:secret@127.0.0.1:1", connect_timeout_ms: 300`);
    for (const args of [
      ["pins", "list"],
      ["pins", "approve", "--all"],
    ]) {
      const r = await warden([...args, "--config", file]);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(
        /state_unavailable: shared state in Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/,
      );
      expect(r.err).not.toContain("secret");
    }
  });

  it("a key of the wrong type, or a corrupted pin planted by another client: a clear error naming the key (and field)", async () => {
    await peek.set("cli2:pins", "planted");
    const wrong = await warden([
      "pins",
      "list",
      "--config",
      config(`url: "${redis.url}", key_prefix: "cli2:"`),
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(
      /pins_invalid: The Redis key cli2:pins holds something other than the rug_pull pins/,
    );
    await seed("cli3:");
    const field = pinField("fx", "echo");
    await peek.hset("cli3:pins", field, "{\r\nnot json");
    const file = config(`url: "${redis.url}", key_prefix: "cli3:"`);
    for (const args of [
      ["pins", "list"],
      ["pins", "approve", "fx"],
    ]) {
      const r = await warden([...args, "--config", file]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `pins_invalid: The pin in Redis (key cli3:pins, field ${field}) is not valid JSON`,
      );
    }
  });
});
