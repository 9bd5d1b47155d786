// An attacker reuses JSON-RPC ids on one HTTP session (redteam2). The id of a request is how
// the front finds the POST its answer goes to: a second request with an id still in flight
// took the first one's place, and the first POST then waited for ever (its connection and its
// stream held by the gateway, never collected: a session collected as idle does not end it).
// Now a request whose id is in flight on its session, or twice in one batch, is refused
// (400, -32600, data.warden message_invalid) and the first call is answered as usual. A
// request the client cancels gets no answer (MCP): its POST waited for ever as well, and kept
// its session from ever being collected as idle; now it ends (202, or the batch's other
// answers) and the id is free again. And a session's requests in flight were not bounded
// at all (a 4 MiB batch is ~40,000 calls, each with its timer, upstream write and audit
// state): now at most 1,024, past it 429 requests_full.
// Real gateway, real SDK upstream (hold-server: never answers a call; the gateway's
// request_timeout_ms answers it).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REQUESTS_IN_FLIGHT } from "../../src/mcp/http-front.js";
import type { Gateway } from "../../src/mcp/index.js";
import { ROOT, startGateway, tempDir, until, writeGatewayFiles } from "./helpers.js";

const HOLD = join(ROOT, "test/mcp/fixtures/hold-server.mjs");
const POLICY = `version: "1.0"\nmcp:\n  transport: { stdio: true, http: true }\n  tools: { allow: ["*"] }\n`;

let gw: Gateway;
let url = "";
let record = "";

const HEAD = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-06-18",
};

function post(body: unknown, sid?: string, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: sid === undefined ? HEAD : { ...HEAD, "mcp-session-id": sid },
    body: JSON.stringify(body),
    signal,
  });
}

async function session(): Promise<string> {
  const r = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "x", version: "1" },
    },
  });
  const sid = r.headers.get("mcp-session-id");
  await r.text();
  if (sid === null) throw new Error(`no session: ${r.status}`);
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, sid)).text();
  return sid;
}

const hold = (id: number | string, n: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "hold", arguments: { n } },
});
const cancel = (id: number | string) => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId: id, reason: "test" },
});
const arrived = (n: number) => readFileSync(record, "utf8").split("\n").includes(String(n));

beforeAll(async () => {
  const dir = tempDir();
  record = join(dir, "record.txt");
  writeFileSync(record, "");
  const cfg = writeGatewayFiles(
    dir,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n  - name: h\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(HOLD)}, ${JSON.stringify(record)}]\n    request_timeout_ms: 2000\n`,
    POLICY,
  );
  ({ gw, url } = await startGateway(cfg));
}, 30_000);

afterAll(async () => {
  await gw?.stop();
});

describe("JSON-RPC ids reused on one HTTP session", () => {
  it("a request whose id is in flight is refused; the first call is still answered", async () => {
    const sid = await session();
    const first = post(hold(7, 1), sid);
    await until(() => arrived(1), 10_000, "the first call upstream");
    const again = await post(hold(7, 2), sid);
    expect(again.status).toBe(400);
    const body = (await again.json()) as { error: { code: number; data: { warden: string } } };
    expect(body.error.code).toBe(-32600);
    expect(body.error.data.warden).toBe("message_invalid");
    expect(arrived(2)).toBe(false);
    // the first call is the one in flight: its timeout answers its own POST
    const r = await first;
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('"id":7');
  }, 30_000);

  it("a batch naming one id twice is refused whole; nothing reaches the upstream", async () => {
    const sid = await session();
    const r = await post([hold("dup", 3), hold("dup", 4)], sid);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: number; data: { warden: string } } };
    expect(body.error.data.warden).toBe("message_invalid");
    // a call that comes after still goes through: the refused ones left nothing behind
    const ok = post(hold("dup", 5), sid);
    await until(() => arrived(5), 10_000, "the later call upstream");
    expect(arrived(3) || arrived(4)).toBe(false);
    const done = await ok;
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('"id":"dup"');
  }, 30_000);

  it("a cancelled request's POST ends (202) instead of waiting for ever; its id is free again", async () => {
    const sid = await session();
    const first = post(hold(11, 6), sid);
    await until(() => arrived(6), 10_000, "the call upstream");
    await (await post(cancel(11), sid)).text();
    const r = await first;
    expect(r.status).toBe(202);
    expect(await r.text()).toBe("");
    // the id may be used again once its request is cancelled
    const again = post(hold(11, 7), sid);
    await until(() => arrived(7), 10_000, "the second call upstream");
    expect((await again).status).toBe(200);
  }, 30_000);

  it("a batch past 1,024 requests in flight on a session is refused whole (429); the session goes on", async () => {
    const sid = await session();
    const batch = Array.from({ length: MAX_REQUESTS_IN_FLIGHT + 1 }, (_, i) =>
      hold(`b${i}`, 1000 + i),
    );
    const r = await post(batch, sid);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("1");
    const body = (await r.json()) as { error: { code: number; data: { warden: string } } };
    expect(body.error.code).toBe(-32600);
    expect(body.error.data.warden).toBe("requests_full");
    const ok = post(hold("after", 9), sid);
    await until(() => arrived(9), 10_000, "the later call upstream");
    expect(arrived(1000)).toBe(false);
    expect((await ok).status).toBe(200);
  }, 30_000);
});
