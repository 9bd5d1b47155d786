// Two `warden admin` processes (the real cli, dist/cli/main.js, as child processes) on one real
// redis-server, sharing the plugin registry (docs/admin.md, "Several instances"): a plugin
// uploaded on one is listed and run by the other, a delete on the other follows on the first.
// Each admin's /readyz reports its Redis connection (degraded while Redis is down, ready again
// by itself) and its /metrics the admin connection's gauge; while Redis is down an upload is
// refused 503 naming Redis. Hostile: entries planted in the registry's keys are skipped with an
// error line naming the key, and both processes keep serving; each instance's token opens only
// its own listener.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../cli/helpers.js";
import { checkAuditLine } from "../mcp/audit-schema.js";
import { until } from "../mcp/helpers.js";
import { RedisServer } from "../state/redis-server.js";
import { POLICY, registerForm, spamPlugin, tempDir } from "./helpers.js";

const PASSWORD = `pw-${randomUUID()}`;
const PREFIX = "two:";
/**
 * How long a change on one instance may take to reach the other: its next sync (every second)
 * reads the index, fetches and compiles the module; generous, for a loaded machine.
 */
const SYNCED = 30_000;

interface Admin {
  child: ChildProcess;
  url: string;
  token: string;
  stderr: () => string;
}

let redis: RedisServer;
let raw: Redis;
let a: Admin;
let b: Admin;
let dir: string;
const running: ChildProcess[] = [];

/** `warden admin --config <its own file>`: resolves once it prints the URL it listens on. */
function startAdmin(dir: string, name: string): Promise<Admin> {
  const token = `${name}-${randomUUID()}`;
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    `policy: ${POLICY}
auth:
  tokens: [{ name: ${name}, env: T_TWO_ADMIN_TOKEN }]
admin:
  listen: { port: 0 }
audit: { file: ./audit-${name}.jsonl }
wasm: { enabled: true }
state:
  dir: ./state-${name}
  redis: { url_env: T_TWO_ADMIN_REDIS, key_prefix: "${PREFIX}", command_timeout_ms: 5000, max_reconnect_delay_ms: 100 }
`,
  );
  const child = spawn(process.execPath, [CLI, "admin", "--config", cfg], {
    env: {
      ...process.env,
      T_TWO_ADMIN_TOKEN: token,
      T_TWO_ADMIN_REDIS: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.push(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /warden admin: listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        child.stderr!.off("data", onData);
        resolve({ child, url: m[1]!, token, stderr: () => err });
      }
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`warden admin exited ${code}: ${err}`)));
  });
}

const call = async (
  who: Admin,
  method: string,
  path: string,
  body?: unknown,
  token = who.token,
) => {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined && !(body instanceof FormData))
    headers["content-type"] = "application/json";
  const r = await fetch(`${who.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  const json = /json/.test(r.headers.get("content-type") ?? "")
    ? (JSON.parse(text) as Record<string, unknown>)
    : {};
  return { status: r.status, text, json };
};
const names = async (who: Admin) =>
  ((await call(who, "GET", "/v1/wasm/plugins")).json.plugins as { name: string }[]).map(
    (p) => p.name,
  );
const runSpam = (who: Admin, actionType: string) =>
  call(who, "POST", "/v1/wasm/plugins/spam-check/test", {
    function: "evaluate",
    input: { action_type: actionType },
  });
const gauge = async (who: Admin) => {
  const line = (await call(who, "GET", "/metrics")).text
    .split("\n")
    .find((l) => l.startsWith('warden_state_redis_up{connection="admin"}'));
  return line === undefined ? undefined : Number(line.split(" ").pop());
};

beforeAll(async () => {
  redis = await RedisServer.start(["--requirepass", PASSWORD]);
  raw = new Redis(`redis://:${PASSWORD}@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1 });
  raw.on("error", () => {});
  dir = tempDir("warden-two-admins-");
  [a, b] = await Promise.all([startAdmin(dir, "alpha"), startAdmin(dir, "beta")]);
}, 60_000);

afterAll(async () => {
  await Promise.all(
    running.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
  raw?.disconnect();
  await redis?.close();
});

describe("two warden admin processes on one Redis", () => {
  it("a plugin uploaded on one is listed and run by the other; a delete on the other follows", async () => {
    expect(await names(a)).toEqual([]);
    const up = await call(
      a,
      "POST",
      "/v1/wasm/plugins",
      registerForm({ name: "spam-check", description: "Block spam" }, await spamPlugin()),
    );
    expect(up.status).toBe(201);
    await until(async () => (await names(b)).includes("spam-check"), SYNCED, "beta lists it");
    const onB = await call(b, "GET", "/v1/wasm/plugins/spam-check");
    expect(onB.json).toMatchObject({
      name: "spam-check",
      description: "Block spam",
      enabled: true,
    });
    // served by beta: its own compiled copy of the module alpha uploaded
    const spam = await runSpam(b, "spam");
    expect(spam.status).toBe(200);
    expect(spam.json.verdict).toBe(false);
    expect((await runSpam(b, "send_email")).json.verdict).toBe(true);
    // the same name uploaded on beta: alpha has it, so it exists everywhere
    const again = await call(
      b,
      "POST",
      "/v1/wasm/plugins",
      registerForm({ name: "spam-check" }, await spamPlugin()),
    );
    expect(again.status).toBe(409);

    expect((await call(b, "DELETE", "/v1/wasm/plugins/spam-check")).status).toBe(204);
    await until(async () => !(await names(a)).includes("spam-check"), SYNCED, "alpha drops it");
    expect((await call(a, "GET", "/v1/wasm/plugins/spam-check")).status).toBe(404);
  });

  it("warden admin alone serves the pins from Redis (no gateway in the process); the gateway's other views stay 501", async () => {
    const p = await call(a, "GET", "/v1/gateway/pins");
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({ store: "redis", key: `${PREFIX}pins`, pins: [], problems: [] });
    const miss = await call(a, "POST", "/v1/gateway/pins/approve", {
      upstream: "pv",
      tool: "t",
      hash: `sha256:${"0".repeat(64)}`,
    });
    expect(miss.status).toBe(404);
    expect(miss.json.code).toBe("pin_not_found");
    expect((await call(a, "GET", "/v1/gateway/upstreams")).status).toBe(501);
  });

  it("an approval over warden admin is an audit line of its audit section's file; SIGHUP starts a new file after rotation", async () => {
    const file = join(dir, "audit-alpha.jsonl");
    const approve = () =>
      call(a, "POST", "/v1/gateway/pins/approve", {
        upstream: "pv",
        tool: "rotated",
        hash: `sha256:${"1".repeat(64)}`,
      });
    const lines = (f: string) =>
      existsSync(f)
        ? readFileSync(f, "utf8")
            .split("\n")
            .filter((l) => l.includes('"rotated"'))
            .map((l) => checkAuditLine(JSON.parse(l)))
        : [];
    expect((await approve()).status).toBe(404);
    await until(() => lines(file).length === 1, 5_000, "the audit line");
    expect(lines(file)[0]).toMatchObject({
      kind: "pin_approval",
      caller: "alpha",
      decision: "deny",
      code: "pin_not_found",
    });
    renameSync(file, `${file}.1`);
    a.child.kill("SIGHUP");
    await until(() => existsSync(file), 5_000, "a new audit file");
    expect((await approve()).status).toBe(404);
    await until(() => lines(file).length === 1, 5_000, "the line in the new file");
    expect(lines(`${file}.1`)).toHaveLength(1);
  });

  it("each instance's token opens its own listener only, though they share Redis", async () => {
    for (const [who, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const r = await call(who, "GET", "/v1/wasm/plugins", undefined, other.token);
      expect(r.status).toBe(401);
      const p = await call(who, "GET", "/v1/gateway/pins", undefined, other.token);
      expect(p.status).toBe(401);
      // /readyz to a probe without this listener's token: the status alone
      const ready = await call(who, "GET", "/readyz", undefined, other.token);
      expect(ready.json).toEqual({ status: "ready" });
      expect(ready.text).not.toContain("redis://");
    }
  });

  it("entries planted in the registry's keys are skipped with an error line naming the key; both keep serving", async () => {
    await raw.hset(`${PREFIX}registry:index`, {
      planted: "{not json",
      typed: JSON.stringify({ name: "typed", sha256: 7 }),
    });
    await raw.hset(`${PREFIX}registry:counts`, "planted@x", "not a number");
    try {
      await until(
        () =>
          [a, b].every((x) =>
            /\\"planted\\" in two:registry:index is not a plugin entry/.test(x.stderr()),
          ),
        SYNCED,
        "both name the key",
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${a.stderr().slice(-3000)}`);
      });
      for (const x of [a, b]) {
        expect(x.child.exitCode).toBe(null);
        expect(await names(x)).not.toContain("planted");
        expect((await call(x, "GET", "/healthz")).status).toBe(200);
      }
      // and an upload still goes through and reaches the other
      const up = await call(
        b,
        "POST",
        "/v1/wasm/plugins",
        registerForm({ name: "after-plant" }, await spamPlugin()),
      );
      expect(up.status).toBe(201);
      await until(async () => (await names(a)).includes("after-plant"), SYNCED, "alpha lists it");
    } finally {
      await raw.hdel(`${PREFIX}registry:index`, "planted", "typed");
      await raw.hdel(`${PREFIX}registry:counts`, "planted@x");
    }
  });

  it("a planted index past what instances write is not followed (nothing taken, nothing dropped); one past the registry's bound is taken up to it", async () => {
    const sha = createHash("sha256")
      .update(await spamPlugin())
      .digest("hex");
    expect(await raw.exists(`${PREFIX}registry:module:${sha}`)).toBe(1);
    const entry = (name: string) =>
      JSON.stringify({
        name,
        description: null,
        enabled: true,
        memory_limit_bytes: 1 << 20,
        timeout_ms: 100,
        registered_at: new Date().toISOString(),
        sha256: sha,
      });
    const flood: Record<string, string> = {};
    for (let i = 0; i < 600; i++) flood[`flood-${i}`] = entry(`flood-${i}`);
    const before = (await names(a)).sort();
    await raw.hset(`${PREFIX}registry:index`, flood);
    try {
      await until(
        () =>
          [a, b].every((x) =>
            x.stderr().includes(`the shared hash ${PREFIX}registry:index holds 6`),
          ),
        SYNCED,
        "both name the key",
      );
      for (const x of [a, b]) expect((await names(x)).sort()).toEqual(before);
      // 300 entries: within what the index may hold, past what a registry holds (256)
      await raw.hdel(
        `${PREFIX}registry:index`,
        ...Array.from({ length: 300 }, (_, i) => `flood-${300 + i}`),
      );
      await until(
        () => a.stderr().includes("256 plugins are registered here"),
        60_000,
        "alpha refusing past 256",
      );
      const count = (await call(a, "GET", "/v1/wasm/plugins")).json.count as number;
      expect(count).toBe(256);
    } finally {
      await raw.hdel(`${PREFIX}registry:index`, ...Object.keys(flood));
    }
    for (const x of [a, b])
      await until(async () => (await names(x)).sort().join() === before.join(), 30_000, "back");
  }, 120_000);

  it("Redis down: both degraded (200) with the connection in /readyz, uploads refused 503; back: ready and in sync by themselves", async () => {
    for (const x of [a, b]) {
      expect((await call(x, "GET", "/readyz")).json).toMatchObject({
        status: "ready",
        state: { redis: { status: "ready" } },
      });
      expect(await gauge(x)).toBe(1);
    }
    await redis.stop();
    try {
      for (const x of [a, b]) {
        await until(async () => (await call(x, "GET", "/readyz")).json.status === "degraded");
        const r = await call(x, "GET", "/readyz");
        expect(r.status).toBe(200);
        expect(r.json.state).toMatchObject({
          redis: { status: "reconnecting", url: `redis://:***@127.0.0.1:${redis.port}` },
        });
        expect(r.text).not.toContain(PASSWORD);
        expect(await gauge(x)).toBe(0);
      }
      const up = await call(
        a,
        "POST",
        "/v1/wasm/plugins",
        registerForm({ name: "while-down" }, await spamPlugin()),
      );
      expect(up.status).toBe(503);
      expect(up.json.code).toBe("state_unavailable");
      expect(up.json.message).toContain(`redis://:***@127.0.0.1:${redis.port}`);
      expect(up.text).not.toContain(PASSWORD);
      const pins = await call(b, "GET", "/v1/gateway/pins");
      expect(pins.status).toBe(503);
      expect(pins.json.code).toBe("state_unavailable");
      // what each has keeps being served
      expect((await names(b)).includes("after-plant")).toBe(true);
    } finally {
      await redis.start();
    }
    for (const x of [a, b])
      await until(async () => (await call(x, "GET", "/readyz")).json.status === "ready", 15_000);
    expect(await gauge(a)).toBe(1);
    // Redis came back empty: the instances publish what they have again, and a new upload on
    // beta reaches alpha
    const up = await call(
      b,
      "POST",
      "/v1/wasm/plugins",
      registerForm({ name: "after-restart" }, await spamPlugin()),
    );
    expect(up.status).toBe(201);
    await until(async () => (await names(a)).includes("after-restart"), SYNCED, "alpha lists it");
    expect(await names(a)).not.toContain("while-down");
  });
});
