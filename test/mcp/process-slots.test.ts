// upstreams[].max_processes with a brief wait (issue 18, point 4): past the cap a new session
// waits up to max_processes_wait_ms for a slot to free, then gets 503 with Retry-After; at most
// MAX_SLOT_WAITERS wait at once. And the config keys `sessions` and `max_processes_wait_ms`.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { MAX_SLOT_WAITERS } from "../../src/mcp/http-slots.js";
import { startGateway, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { INIT } from "./http-raw.js";

/** A JSON-RPC answer as these tests read it. */
type Rpc = {
  id: number;
  result: { content: { text: string }[]; serverInfo: { name: string } };
  error: { message: string };
};
const json = async (r: Response): Promise<Rpc> => (await r.json()) as Rpc;

const POLICY = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;

const post = (url: string, body = INIT, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body,
  });

async function gateway(extra: string) {
  const cfg = writeGatewayFiles(
    tempDir(),
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}    max_processes: 1\n${extra}`,
    POLICY,
  );
  return startGateway(cfg);
}

describe("max_processes: a new session waits briefly for a process slot", () => {
  it("takes the slot a session frees while it waits", async () => {
    const { gw, url } = await gateway("    max_processes_wait_ms: 60000\n");
    try {
      const first = await post(url);
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const second = post(url);
      await until(() => gw.http!.waiting === 1);
      const del = await fetch(url, {
        method: "DELETE",
        headers: { "mcp-session-id": first.headers.get("mcp-session-id")! },
      });
      expect(del.status).toBe(200);
      const r = await second;
      expect(r.status).toBe(200);
      expect((await json(r)).result.serverInfo.name).toBe("fx");
      expect(gw.sessions.size).toBe(1);
    } finally {
      await gw.stop();
    }
  });

  it("a client that leaves while it waits gives its place up", async () => {
    const { gw, url } = await gateway("    max_processes_wait_ms: 60000\n");
    try {
      expect((await post(url)).status).toBe(200);
      const ac = new AbortController();
      const left = fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: INIT,
        signal: ac.signal,
      }).catch(() => "aborted");
      await until(() => gw.http!.waiting === 1);
      ac.abort();
      expect(await left).toBe("aborted");
      await until(() => gw.http!.waiting === 0);
      expect(gw.sessions.size).toBe(1);
    } finally {
      await gw.stop();
    }
  });

  it("gets 503 with Retry-After, naming the upstream, when no slot frees in time", async () => {
    const { gw, url } = await gateway("    max_processes_wait_ms: 50\n");
    try {
      expect((await post(url)).status).toBe(200);
      const r = await post(url);
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await json(r)).error.message).toMatch(
        /upstream "fx" runs one process per session and has 1, its limit \(upstreams\[\]\.max_processes/,
      );
    } finally {
      await gw.stop();
    }
  });

  it("lets at most MAX_SLOT_WAITERS wait: the next one gets 503 at once", async () => {
    const { gw, url } = await gateway("    max_processes_wait_ms: 60000\n");
    try {
      expect((await post(url)).status).toBe(200);
      const waiting = Array.from({ length: MAX_SLOT_WAITERS }, () => post(url).catch(() => null));
      await until(() => gw.http!.waiting === MAX_SLOT_WAITERS);
      const r = await post(url);
      expect(r.status).toBe(503);
      expect((await json(r)).error.message).toMatch(
        new RegExp(`${MAX_SLOT_WAITERS} sessions were already waiting`),
      );
      expect(gw.http!.waiting).toBe(MAX_SLOT_WAITERS);
      await gw.stop();
      await Promise.all(waiting);
    } finally {
      await gw.stop();
    }
  });
});

describe("config: sessions and max_processes_wait_ms", () => {
  const parse = (extra: string) =>
    parseConfig(
      `policy: p.yaml\nupstreams:\n  - name: fx\n    command: node\n${extra}`,
      "/w/warden.yaml",
    );

  it("reads sessions (default per_session) and max_processes_wait_ms (default 2000)", () => {
    const d = parse("");
    expect(d.ok && d.config.upstreams[0]).toMatchObject({
      sessions: "per_session",
      maxProcessesWaitMs: 2000,
    });
    const s = parse("    sessions: shared\n    max_processes_wait_ms: 0\n");
    expect(s.ok && s.config.upstreams[0]).toMatchObject({
      sessions: "shared",
      maxProcessesWaitMs: 0,
    });
    const h = parseConfig(
      "policy: p.yaml\nupstreams:\n  - name: web\n    url: http://127.0.0.1:9/mcp\n    sessions: shared\n",
      "/w/warden.yaml",
    );
    expect(h.ok && h.config.upstreams[0]).toMatchObject({ sessions: "shared" });
  });

  it("refuses a wrong value or a misspelt key, located, with did-you-mean", () => {
    const v = parse("    sessions: sharde\n");
    expect(v.ok).toBe(false);
    expect(!v.ok && v.errors).toEqual([
      expect.objectContaining({
        line: 5,
        key: "upstreams[0].sessions",
        message: expect.stringMatching(
          /sessions must be "per_session".*\(did you mean "shared"\?\)/,
        ),
      }),
    ]);
    const k = parse("    sesions: shared\n");
    expect(!k.ok && k.errors).toEqual([
      expect.objectContaining({
        line: 5,
        code: "unknown_key",
        message: expect.stringContaining('(did you mean "sessions"?)'),
      }),
    ]);
    const w = parse("    max_processes_wait_ms: -1\n");
    expect(!w.ok && w.errors[0]!.message).toMatch(
      /max_processes_wait_ms must be a whole number from 0 to 60000/,
    );
  });
});
