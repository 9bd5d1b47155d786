// A request for a session whose owning instance cannot be reached (docs/scale-out.md, "Owner
// gone or unreachable"): real gateways on a real redis-server, each with its own audit file, and
// the owner a real `warden gateway` process killed with SIGKILL (it removes nothing on the way
// out). Dead owner (its address refuses connections): 404 session_owner_gone as the MCP spec
// says (the session ended with it), the record removed, an audit line naming the owner and the
// session. Owner unreachable (no route, connection timing out: it may be alive behind a network
// fault): 503 session_owner_unreachable with Retry-After, nothing sent, the record kept, audited
// alike. Every refusal of the forwarding path leaves an audit line, an unknown session too.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, until } from "../mcp/helpers.js";
import { INIT, postRaw } from "../mcp/http-raw.js";
import {
  jsonLines,
  type SessionCluster,
  type SessionInstance,
  sessionCluster,
} from "./_session-cluster.js";
import { type Instance, startInstance } from "./instances.js";

const ALICE = `alice-${randomUUID()}`;
const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
const auth = { authorization: `Bearer ${ALICE}` };

let cluster: SessionCluster;
let peek: Redis;
let a: SessionInstance;
let dir: string;
const spawned: Instance[] = [];

const config = (d: string) => cluster.config(d);
const lines = jsonLines;
const sign = (id: string, url: string) => cluster.sign(id, url);

beforeAll(async () => {
  cluster = await sessionCluster("og", { alice: ALICE });
  peek = cluster.peek;
  dir = tempDir();
  a = await cluster.start(join(dir, "a"));
}, 30_000);

/**
 * An address that takes no connection (a host hung or cut off): a process listening with an
 * accept queue of one, stopped (SIGSTOP), its queue filled: the kernel drops further SYNs, so a
 * connection there times out (undici's connect timeout), as to a host behind a network fault.
 */
async function hungHost(): Promise<{ url: string; child: ChildProcess; fill: Socket[] }> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      "require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((r) =>
    child.stdout!.once("data", (d) => r(Number(String(d)))),
  );
  child.kill("SIGSTOP");
  const fill: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < 4; i++) {
    const s = connect(port, "127.0.0.1", () => connected++);
    s.on("error", () => {});
    fill.push(s);
  }
  // Its queue is full once the kernel has completed backlog + 1 connections (Linux): the SYNs
  // past them are dropped.
  await until(() => connected >= 2, 10_000, "the stopped listener's queue to fill");
  return { url: `http://127.0.0.1:${port}/mcp`, child, fill };
}
let hung: Awaited<ReturnType<typeof hungHost>> | undefined;

afterAll(async () => {
  if (hung) {
    hung.child.kill("SIGKILL");
    for (const s of hung.fill) s.destroy();
  }
  for (const s of spawned) await s.stop();
  await a?.gw.stop();
  await cluster?.close();
});

describe("a session whose owner cannot be reached", () => {
  it("owner killed (its address refuses connections): 404 session_owner_gone, record removed, audited naming owner and session", async () => {
    const db = join(dir, "b");
    mkdirSync(db);
    const owner = await startInstance(config(db), { ...process.env });
    spawned.push(owner);
    const init = await postRaw(owner.url, INIT, auth);
    expect(init.status).toBe(200);
    await init.text();
    const id = init.headers.get("mcp-session-id")!;
    expect(JSON.parse((await peek.get(`og:session:${id}`))!).url).toBe(owner.url);
    // served through a while the owner lives
    expect((await postRaw(a.url, PING, { ...auth, "mcp-session-id": id })).status).toBe(200);

    owner.child.kill("SIGKILL");
    await new Promise((r) => owner.child.once("exit", r));
    // the record is still there: nobody removed it
    expect(await peek.get(`og:session:${id}`)).not.toBeNull();
    const r = await postRaw(a.url, PING, { ...auth, "mcp-session-id": id });
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { code: number; message: string; data: unknown } };
    expect(body.error.code).toBe(-32001);
    expect(body.error.data).toEqual({ warden: "session_owner_gone" });
    expect(body.error.message).toContain(owner.url);
    expect(body.error.message).toMatch(/Initialize again/);
    await until(async () => (await peek.get(`og:session:${id}`)) === null, 5000, "removal");
    await until(
      () =>
        lines(a.audit).some(
          (l) =>
            l.code === "session_owner_gone" &&
            l.decision === "deny" &&
            l.phase === "decision" &&
            l.caller === "alice" &&
            l.session === id &&
            l.method === "ping" &&
            String(l.reason).includes(owner.url),
        ),
      5000,
      "the audit line",
    );
    // the next request: the record is gone, 404 session_unknown, audited too
    const again = await postRaw(a.url, PING, { ...auth, "mcp-session-id": id });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { data: unknown } }).error.data).toEqual({
      warden: "session_unknown",
    });
    await until(
      () => lines(a.audit).some((l) => l.code === "session_unknown" && l.session === id),
      5000,
      "the session_unknown line",
    );
  });

  it("owner unreachable (the connection times out: a hung host, a network fault): 503 session_owner_unreachable with Retry-After, record kept, audited", async () => {
    hung = await hungHost();
    const NOWHERE = hung.url;
    const id = randomUUID();
    await peek.set(`og:session:${id}`, sign(id, NOWHERE), "PX", 60_000);
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "hi" } },
    });
    const r = await postRaw(a.url, call, { ...auth, "mcp-session-id": id });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
    const body = (await r.json()) as { error: { message: string; data: unknown } };
    expect(body.error.data).toEqual({ warden: "session_owner_unreachable" });
    expect(body.error.message).toContain(NOWHERE);
    expect(body.error.message).toMatch(/state\.sessions\.ttl_seconds/);
    // the owner may be alive behind the fault: its record stays (it expires if nobody refreshes it)
    expect(await peek.get(`og:session:${id}`)).toBe(sign(id, NOWHERE));
    await until(
      () =>
        lines(a.audit).some(
          (l) =>
            l.code === "session_owner_unreachable" &&
            l.decision === "deny" &&
            l.session === id &&
            l.method === "tools/call" &&
            String(l.reason).includes(NOWHERE),
        ),
      5000,
      "the audit line",
    );
  }, 20_000);

  it("a session no instance records, and a hostile id: 404 session_unknown, audited (the hostile id not copied)", async () => {
    const id = randomUUID();
    expect((await postRaw(a.url, PING, { ...auth, "mcp-session-id": id })).status).toBe(404);
    const hostile = `x:*${"A".repeat(5000)}`;
    expect((await postRaw(a.url, PING, { ...auth, "mcp-session-id": hostile })).status).toBe(404);
    await until(
      () =>
        lines(a.audit).some(
          (l) => l.code === "session_unknown" && l.session === id && l.method === "ping",
        ),
      5000,
      "the line of the unknown session",
    );
    await until(
      () => lines(a.audit).some((l) => l.code === "session_unknown" && l.session === null),
      5000,
      "the line of the hostile id",
    );
    expect(readFileSync(a.audit, "utf8")).not.toContain("A".repeat(600));
  });
});
