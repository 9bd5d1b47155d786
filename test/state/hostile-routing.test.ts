// Attacker tests against session routing between two real gateway instances on one real
// redis-server (each with its own audit file): headers that name another host, a record that
// names the forwarding instance itself, a Connection header that would strip the token, and the
// owner judging and auditing what was forwarded to it. Each test pins a defence.
import { randomUUID } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../mcp/helpers.js";
import { postRaw } from "../mcp/http-raw.js";
import {
  initOn as initSession,
  jsonLines,
  type SessionCluster,
  type SessionInstance,
  sessionCluster,
} from "./_session-cluster.js";

const ALICE = `alice-${randomUUID()}`;
const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
const auth = { authorization: `Bearer ${ALICE}` };

let cluster: SessionCluster;
let peek: Redis;
let a: SessionInstance;
let b: SessionInstance;
let trap: { server: Server; url: string; hits: string[] };

const lines = jsonLines;
const initOn = (url: string) => initSession(url, auth);

beforeAll(async () => {
  cluster = await sessionCluster("hr", { alice: ALICE }, ", max_body_bytes: 65536");
  peek = cluster.peek;
  a = await cluster.start();
  b = await cluster.start();
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  trap = { server, hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.gw.stop(), b?.gw.stop()]);
  trap?.server.close();
  await cluster?.close();
});

describe("session routing under attack", () => {
  it("Host, X-Forwarded-*, Forwarded and an absolute request target never choose where a request is forwarded", async () => {
    const id = await initOn(a.url);
    const host = new URL(trap.url).host;
    const r = await postRaw(b.url, PING, {
      ...auth,
      "mcp-session-id": id,
      host,
      "x-forwarded-host": host,
      "x-forwarded-proto": "http",
      "x-forwarded-for": "127.0.0.1",
      forwarded: `for=127.0.0.1;host=${host};proto=http`,
      "x-original-url": `${trap.url}/mcp`,
    });
    // forwarded to the owner (which judges the Host itself), never to the trap
    expect([200, 403]).toContain(r.status);
    await r.text();
    const q = await fetch(`${b.url}?next=${encodeURIComponent(`${trap.url}/mcp`)}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        ...auth,
        "mcp-session-id": id,
      },
      body: PING,
    });
    expect(q.status).toBe(200);
    expect(((await q.json()) as { id: number }).id).toBe(2);
    expect(trap.hits).toEqual([]);
  });

  it("a forwarded tools/call is judged and audited by the owner, naming the caller", async () => {
    const id = await initOn(a.url);
    const owner = a.gw.http!.sessions.has(id) ? a : b;
    const other = owner === a ? b : a;
    const call = (text: string) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "echo", arguments: { text } },
      });
    const denied = await postRaw(other.url, call("far more than ten characters"), {
      ...auth,
      "mcp-session-id": id,
    });
    const body = (await denied.json()) as { error?: { code: number; message: string } };
    expect(body.error?.code).toBe(-32003);
    const allowed = await postRaw(other.url, call("short"), { ...auth, "mcp-session-id": id });
    expect(((await allowed.json()) as { result?: unknown }).result).toBeDefined();
    const judged = () =>
      lines(owner.audit).filter(
        (l) =>
          l.name === "echo" && l.phase === "decision" && l.caller === "alice" && l.session === id,
      );
    await until(() => judged().length >= 2, 5000, "the owner's audit lines");
    expect(judged().map((l) => l.decision)).toEqual(expect.arrayContaining(["deny", "allow"]));
    expect(lines(other.audit).filter((l) => l.name === "echo")).toEqual([]);
  });

  it("a Connection header naming Authorization drops the token from the forward: the owner refuses (fail closed)", async () => {
    const id = await initOn(a.url);
    // fetch refuses to send a Connection header: node:http sends it as written
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        b.url,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            ...auth,
            "mcp-session-id": id,
            connection: "keep-alive, authorization",
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(PING);
    });
    const owner = a.gw.http!.sessions.has(id) ? a : b;
    // b holds it: served (the token was checked by b itself); else the owner got no token
    expect(status).toBe(owner === b ? 200 : 401);
    // the session is still there and still reachable the normal way
    expect((await postRaw(b.url, PING, { ...auth, "mcp-session-id": id })).status).toBe(200);
  });

  it("signed records that loop (naming the forwarding instance, or an owner without the session) end in 404 and are removed; a client's hop header leaves another's record alone", async () => {
    const id = await initOn(a.url);
    const owner = a.gw.http!.sessions.has(id) ? a : b;
    const other = owner === a ? b : a;
    const rec = (await peek.get(`hr:session:${id}`))!;
    expect(rec).toContain(owner.url);
    const sign = cluster.sign;
    const self = randomUUID();
    await peek.set(`hr:session:${self}`, sign(self, other.url));
    const ghost = randomUUID();
    await peek.set(`hr:session:${ghost}`, sign(ghost, owner.url));
    for (const sid of [self, ghost]) {
      const r = await postRaw(other.url, PING, { ...auth, "mcp-session-id": sid });
      expect(r.status).toBe(404);
      await until(async () => (await peek.get(`hr:session:${sid}`)) === null, 5000, "removal");
    }
    // the hop header sent by a client makes the non-owner drop only a record naming itself
    const hop = await postRaw(other.url, PING, {
      ...auth,
      "mcp-session-id": id,
      "warden-forwarded": "1",
    });
    expect(hop.status).toBe(404);
    expect(await peek.get(`hr:session:${id}`)).toBe(rec);
    expect((await postRaw(other.url, PING, { ...auth, "mcp-session-id": id })).status).toBe(200);
  });
});
