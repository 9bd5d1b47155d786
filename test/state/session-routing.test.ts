// Session routing between gateway instances (docs/scale-out.md, "Sessions"): two real gateways
// sharing a real redis-server, driven by a real SDK client whose requests alternate between
// them, and raw requests for what a client could try: forged and hostile session ids, a hop
// header, a gone instance, Redis down, bodies and forwards past their bounds.

import { createHmac, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  makeClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { INIT, postRaw } from "../mcp/http-raw.js";
import { roundRobin } from "./instances.js";
import { RedisServer } from "./redis-server.js";

const SECRET = "s".repeat(16) + randomUUID();
const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });

let redis: RedisServer;
let peek: Redis;
let a: { gw: Gateway; url: string };
let b: { gw: Gateway; url: string };
const extra: Gateway[] = [];

function config(redisUrl: string, more = ""): string {
  const dir = tempDir();
  return writeGatewayFiles(
    dir,
    `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp, max_body_bytes: 65536 } }
auth: { tokens: [{ name: alice, env: T_ALICE }, { name: bob, env: T_BOB }] }
policy: ./policy.yaml
state:
  dir: ${dir}/state
  redis: { url: "${redisUrl}" }
  sessions: { secret_env: T_SECRET, ttl_seconds: 3${more} }
upstreams:
${stdioUpstream("fx")}`,
  );
}

const auth = (t = ALICE) => ({ authorization: `Bearer ${t}` });

async function initOn(url: string, token = ALICE): Promise<string> {
  const r = await postRaw(url, INIT, auth(token));
  expect(r.status).toBe(200);
  await r.text();
  return r.headers.get("mcp-session-id")!;
}

function sign(id: string, url: string, secret = SECRET): string {
  const sig = createHmac("sha256", secret)
    .update(`warden session route v1\n${id}\n${url}`)
    .digest("base64url");
  return JSON.stringify({ url, sig });
}

/** A server that counts what reaches it (where a forged record would send a client). */
async function trap(): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.headers.authorization}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

beforeAll(async () => {
  process.env.T_ALICE = ALICE;
  process.env.T_BOB = BOB;
  process.env.T_SECRET = SECRET;
  redis = await RedisServer.start();
  peek = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
  peek.on("error", () => {}); // Redis is stopped on purpose below
  await peek.connect();
  const file = config(redis.url);
  a = await startGateway(file);
  b = await startGateway(file);
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.gw.stop(), b?.gw.stop(), ...extra.map((g) => g.stop())]);
  peek?.disconnect();
  await redis?.close();
});

afterEach(async () => {
  if (!redis.running) await redis.start();
});

describe("Streamable HTTP sessions across instances (state.sessions)", () => {
  it("a session opened on one instance is continued on the other: calls, streamed progress, DELETE", async () => {
    const client = makeClient();
    const transport = new StreamableHTTPClientTransport(new URL(a.url), {
      requestInit: { headers: auth() },
      fetch: roundRobin([a.url, b.url]),
    });
    await client.connect(transport);
    const id = transport.sessionId!;
    // one instance holds it, the other forwards to it
    expect(a.gw.http!.sessions.has(id) !== b.gw.http!.sessions.has(id)).toBe(true);
    const owner = a.gw.http!.sessions.has(id) ? a : b;
    const other = owner === a ? b : a;
    expect(await peek.get(`warden:session:${id}`)).toContain(owner.url);
    for (let i = 0; i < 4; i++) {
      const r = (await client.callTool({ name: "echo", arguments: { text: `hi ${i}` } })) as {
        content: { text: string }[];
      };
      expect(r.content[0]!.text).toBe(`hi ${i}`);
    }
    // an SSE answer with progress events streams through the forward
    const progress: number[] = [];
    await client.callTool({ name: "slow", arguments: { ms: 200, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress.length).toBeGreaterThan(0);
    // DELETE through the instance that does not hold it ends it on the one that does
    const del = await fetch(other.url, {
      method: "DELETE",
      headers: { ...auth(), "mcp-session-id": id },
    });
    expect(del.status).toBe(200);
    await until(() => !owner.gw.http!.sessions.has(id), 5000, "the session to end");
    await until(async () => (await peek.get(`warden:session:${id}`)) === null, 5000, "its record");
    for (const g of [a, b])
      expect((await postRaw(g.url, PING, { ...auth(), "mcp-session-id": id })).status).toBe(404);
    await client.close().catch(() => {});
  });

  it("the owner judges a forwarded request: a wrong token stops at the first instance, another caller's token finds no session", async () => {
    const id = await initOn(a.url);
    const trapA = await postRaw(b.url, PING, {
      authorization: "Bearer nope",
      "mcp-session-id": id,
    });
    expect(trapA.status).toBe(401);
    const asBob = await postRaw(b.url, PING, { ...auth(BOB), "mcp-session-id": id });
    expect(asBob.status).toBe(404);
    const asAlice = await postRaw(b.url, PING, { ...auth(), "mcp-session-id": id });
    expect(asAlice.status).toBe(200);
    expect(((await asAlice.json()) as { id: number }).id).toBe(2);
  });

  it("a record no instance signed is ignored: nothing reaches the address it names", async () => {
    const t = await trap();
    try {
      const forged = randomUUID();
      await peek.set(`warden:session:${forged}`, JSON.stringify({ url: t.url, sig: "x" }));
      const otherSecret = randomUUID();
      await peek.set(`warden:session:${otherSecret}`, sign(otherSecret, t.url, "another secret!"));
      // a record signed for another session id does not move to this one
      const moved = randomUUID();
      await peek.set(`warden:session:${moved}`, sign(forged, t.url));
      for (const id of [forged, otherSecret, moved]) {
        const r = await postRaw(a.url, PING, { ...auth(), "mcp-session-id": id });
        expect(r.status).toBe(404);
        expect(((await r.json()) as { error: { data: unknown } }).error.data).toEqual({
          warden: "session_unknown",
        });
      }
      expect(t.hits).toEqual([]);
    } finally {
      t.server.close();
    }
  });

  it("SSRF: a live session's genuine record with its URL changed to another host is ignored (the HMAC covers the URL)", async () => {
    const t = await trap();
    try {
      const id = await initOn(a.url);
      const key = `warden:session:${id}`;
      const genuine = JSON.parse((await peek.get(key))!) as { url: string; sig: string };
      expect(genuine.url).toBe(a.url);
      // the attacker keeps the instance's signature and points the record at its own server
      await peek.set(key, JSON.stringify({ url: t.url, sig: genuine.sig }), "PX", 60_000);
      const r = await postRaw(b.url, PING, { ...auth(), "mcp-session-id": id });
      expect(r.status).toBe(404);
      expect(t.hits).toEqual([]);
    } finally {
      t.server.close();
    }
  });

  it("WARDEN_INSTANCE_URL is what an instance advertises; a bad one stops the start naming it", async () => {
    const advertised = "http://localhost:9/mcp";
    process.env.WARDEN_INSTANCE_URL = advertised;
    try {
      const c = await startGateway(config(redis.url));
      extra.push(c.gw);
      const id = await initOn(c.url);
      const rec = JSON.parse((await peek.get(`warden:session:${id}`))!) as { url: string };
      expect(rec.url).toBe(advertised);
      process.env.WARDEN_INSTANCE_URL = "ftp://10.0.0.5/mcp";
      await expect(startGateway(config(redis.url))).rejects.toThrow(/\$WARDEN_INSTANCE_URL is/);
    } finally {
      delete process.env.WARDEN_INSTANCE_URL;
    }
  });

  it("an owner that accepts the connection and answers garbage: 502 session_forward_failed", async () => {
    const garbage = createNetServer((sock) => {
      sock.on("data", () => sock.end("NOT HTTP AT ALL\r\n\r\n"));
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", r));
    try {
      const port = (garbage.address() as AddressInfo).port;
      const id = randomUUID();
      await peek.set(
        `warden:session:${id}`,
        sign(id, `http://127.0.0.1:${port}/mcp`),
        "PX",
        60_000,
      );
      const r = await postRaw(a.url, PING, { ...auth(), "mcp-session-id": id });
      expect(r.status).toBe(502);
      expect(((await r.json()) as { error: { data: unknown } }).error.data).toEqual({
        warden: "session_forward_failed",
      });
    } finally {
      garbage.close();
    }
  });

  it("hostile session ids (huge, key separators, glob characters) never reach Redis", async () => {
    await redis.stop(); // a lookup would answer 503: these get 404 without one
    for (const id of [
      "x".repeat(8000),
      "warden:session:*",
      "*",
      `${randomUUID()}:x`,
      `${randomUUID()}\u00e9`, // non-ASCII (latin-1 on the wire)
      randomUUID().toUpperCase(),
    ]) {
      const r = await postRaw(a.url, PING, { ...auth(), "mcp-session-id": id });
      expect(r.status, id.slice(0, 40)).toBe(404);
    }
  });

  it("a forwarded request is never forwarded again (hop header)", async () => {
    const id = await initOn(a.url);
    const hop = await postRaw(b.url, PING, {
      ...auth(),
      "mcp-session-id": id,
      "warden-forwarded": "1",
    });
    expect(hop.status).toBe(404);
    expect((await postRaw(b.url, PING, { ...auth(), "mcp-session-id": id })).status).toBe(200);
  });

  it("an instance that is gone: its sessions are unknown (404) and their records removed", async () => {
    const gone = randomUUID();
    await peek.set(`warden:session:${gone}`, sign(gone, "http://127.0.0.1:1/mcp"), "PX", 60_000);
    const r = await postRaw(a.url, PING, { ...auth(), "mcp-session-id": gone });
    expect(r.status).toBe(404);
    expect(await peek.get(`warden:session:${gone}`)).toBeNull();
    // a record naming the instance asked, which does not hold the session (it restarted)
    const stale = randomUUID();
    await peek.set(`warden:session:${stale}`, sign(stale, a.url), "PX", 60_000);
    expect((await postRaw(a.url, PING, { ...auth(), "mcp-session-id": stale })).status).toBe(404);
    await until(async () => (await peek.get(`warden:session:${stale}`)) === null, 5000, "removal");
  });

  it("Redis down: own sessions keep working, another instance's are refused saying why; back up, they are found again", async () => {
    const onA = await initOn(a.url);
    const onB = await initOn(b.url);
    await redis.stop();
    expect((await postRaw(b.url, PING, { ...auth(), "mcp-session-id": onB })).status).toBe(200);
    const refused = await postRaw(b.url, PING, { ...auth(), "mcp-session-id": onA });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    const body = (await refused.json()) as { error: { message: string; data: unknown } };
    expect(body.error.data).toEqual({ warden: "state_unavailable" });
    expect(body.error.message).toMatch(/state\.redis/);
    // Redis restarts empty: each instance writes its records again by itself
    await redis.start();
    await until(
      async () => (await postRaw(b.url, PING, { ...auth(), "mcp-session-id": onA })).status === 200,
      10_000,
      "the session to be found again",
    );
  });

  it("bounded: a body over max_body_bytes is refused before it is forwarded", async () => {
    const id = await initOn(a.url);
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "x".repeat(70_000) } },
    });
    const r = await postRaw(b.url, big, { ...auth(), "mcp-session-id": id });
    expect(r.status).toBe(413);
  });

  it("bounded: past max_forwards a forward is refused with 503 and Retry-After", async () => {
    const file = config(redis.url, ", max_forwards: 1");
    const c = await startGateway(file);
    extra.push(c.gw);
    const id = await initOn(a.url);
    // an open GET stream forwarded through c holds its one forward
    const ac = new AbortController();
    const get = await fetch(c.url, {
      headers: { ...auth(), "mcp-session-id": id, accept: "text/event-stream" },
      signal: ac.signal,
    });
    expect(get.status).toBe(200);
    const busy = await postRaw(c.url, PING, { ...auth(), "mcp-session-id": id });
    expect(busy.status).toBe(503);
    expect(((await busy.json()) as { error: { data: unknown } }).error.data).toEqual({
      warden: "session_forward_busy",
    });
    ac.abort();
    await until(
      async () => (await postRaw(c.url, PING, { ...auth(), "mcp-session-id": id })).status === 200,
      5000,
      "the forward to be freed",
    );
  });
});

describe("state.sessions in warden.yaml", () => {
  const base = `listen: { http: { port: 0 } }\npolicy: ./p.yaml\nupstreams: [{ name: a, command: x }]\n`;
  const problems = (text: string) => {
    const r = parseConfig(text, "/tmp/w.yaml");
    return r.ok ? [] : r.errors.map((e) => `${e.key}: ${e.message}`);
  };

  it("needs state.redis and an HTTP listener; instance_url is http(s) without credentials or query", () => {
    expect(problems(`${base}state: { sessions: { secret_env: S } }\n`).join("\n")).toMatch(
      /state\.sessions: .*needs state\.redis/,
    );
    expect(
      problems(
        `listen: stdio\npolicy: ./p.yaml\nupstreams: [{ name: a, command: x }]\nstate: { redis: { url: "redis://127.0.0.1:1" }, sessions: { secret_env: S } }\n`,
      ).join("\n"),
    ).toMatch(/needs listen: \{ http/);
    for (const bad of ["ftp://x/mcp", "http://u:p@x/mcp", "http://x/mcp?a=1", "not a url"])
      expect(
        problems(
          `${base}state: { redis: { url: "redis://127.0.0.1:1" }, sessions: { secret_env: S, instance_url: "${bad}" } }\n`,
        ).join("\n"),
      ).toMatch(/state\.sessions\.instance_url: /);
    expect(
      problems(`${base}state: { redis: { url: "redis://127.0.0.1:1" }, sessions: {} }\n`).join(
        "\n",
      ),
    ).toMatch(/secret_env/);
  });

  it("a gateway does not start without the shared secret, or with a short one, and says which variable", async () => {
    const file = config(redis.url);
    for (const v of [undefined, "short"]) {
      if (v === undefined) delete process.env.T_SECRET;
      else process.env.T_SECRET = v;
      await expect(startGateway(file)).rejects.toThrow(/\$T_SECRET.*at least 32 characters/);
    }
    process.env.T_SECRET = SECRET;
  });
});
