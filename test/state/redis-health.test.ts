// state.redis in /readyz and /metrics (docs/scale-out.md, "Health"): a real gateway over HTTP
// on a real redis-server with a password, stopped and started again. While Redis is down the
// gateway is "degraded" (still 200: it serves all but what needs shared state), /readyz says
// reconnecting with the last error and never the password, /metrics has the connection gauge
// and the refusals by what needed Redis (a rate-limited call, another instance's session).
import { randomUUID } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { RedisServer } from "./redis-server.js";

const PASSWORD = `pw-${randomUUID()}`;
const TOKEN = `tok-${randomUUID()}`;
const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - { name: "add", max_calls_per_minute: 100 }
      - "echo"
`;

let redis: RedisServer;
let gw: Gateway;
let base: string;
let client: Client;

const get = async (path: string, token?: string) => {
  const r = await fetch(`${base}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: r.status, text: await r.text() };
};
interface Ready {
  status: string;
  state: { redis: { status: string; url: string; last_error?: string } };
}
const ready = async (token?: string) => {
  const r = await get("/readyz", token);
  return { status: r.status, body: JSON.parse(r.text) as Ready };
};
const metric = async (line: RegExp) => {
  const m = (await get("/metrics", TOKEN)).text.split("\n").find((l) => line.test(l));
  return m === undefined ? undefined : Number(m.split(" ").pop());
};

beforeAll(async () => {
  process.env.T_HEALTH_TOKEN = TOKEN;
  process.env.T_HEALTH_SECRET = "h".repeat(40);
  redis = await RedisServer.start(["--requirepass", PASSWORD]);
  const dir = tempDir();
  const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
  const file = writeGatewayFiles(
    dir,
    `listen: { http: { port: 0 } }
auth: { tokens: [{ name: alice, env: T_HEALTH_TOKEN }] }
telemetry: { metrics: { path: /metrics } }
policy: policy.yaml
state:
  dir: ${JSON.stringify(dir)}
  redis: { url: ${JSON.stringify(url)}, max_reconnect_delay_ms: 200 }
  sessions: { secret_env: T_HEALTH_SECRET }
upstreams:
${stdioUpstream("s", [], false)}`,
    POLICY,
  );
  const started = await startGateway(file);
  gw = started.gw;
  base = new URL(started.url).origin;
  expect(await gw.redis?.waitUp(10_000)).toBe(true);
  client = await httpClient(started.url, undefined, { authorization: `Bearer ${TOKEN}` });
}, 60_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await gw?.stop();
  await redis?.close();
});

describe("state.redis in /readyz and /metrics", () => {
  it("Redis up: ready, the connection shown without its password, the gauge at 1", async () => {
    const r = await ready(TOKEN);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("ready");
    expect(r.body.state.redis).toMatchObject({
      status: "ready",
      url: `redis://:***@127.0.0.1:${redis.port}`,
    });
    expect(r.body.state.redis.last_error).toBeUndefined();
    expect(await metric(/^warden_state_redis_up\{connection="gateway"\} /)).toBe(1);
    expect(await metric(/^warden_state_unavailable_total\{need="rate_limit"\} /)).toBe(0);
  });

  it("Redis down: degraded (200), reconnecting with the last error; refusals counted by need; back up: ready", async () => {
    await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
    await redis.stop();
    await until(async () => (await ready(TOKEN)).body.status === "degraded", 10_000, "degraded");
    const r = await ready(TOKEN);
    expect(r.status).toBe(200);
    expect(r.body.state.redis.status).toBe("reconnecting");
    expect(r.body.state.redis.last_error).toMatch(/ECONNREFUSED|closed/);
    // without a token: only the status
    const anon = await ready();
    expect(anon).toEqual({ status: 200, body: { status: "degraded" } });
    expect(await metric(/^warden_state_redis_up\{connection="gateway"\} /)).toBe(0);
    // a rate-limited call and a request for a session no instance here holds are refused
    const refused = await client.callTool({ name: "add", arguments: { a: 1, b: 2 } }).then(
      () => "served",
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/state\.redis|Redis/);
    const other = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": randomUUID(),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(other.status).toBe(503);
    // an unlimited call goes on
    await client.callTool({ name: "echo", arguments: { text: "still here" } });
    expect(await metric(/^warden_state_unavailable_total\{need="rate_limit"\} /)).toBe(1);
    expect(await metric(/^warden_state_unavailable_total\{need="session_route"\} /)).toBe(1);
    const texts = [JSON.stringify(r.body), (await get("/metrics", TOKEN)).text];
    for (const t of texts) expect(t).not.toContain(PASSWORD);
    await redis.start();
    await until(async () => (await ready(TOKEN)).body.status === "ready", 15_000, "ready again");
    expect((await ready(TOKEN)).body.state.redis.last_error).toBeUndefined();
    expect(await metric(/^warden_state_redis_up\{connection="gateway"\} /)).toBe(1);
    await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
  });
});
