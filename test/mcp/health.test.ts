// /healthz and /readyz on the HTTP front, over real HTTP: live while the process serves; ready
// only when every shared upstream is up and every per-session command can be started, else 503
// naming each upstream that is not and why. Never MCP traffic: no session, no audit line, no
// decision. No token needed; without one (auth configured) or from a foreign Host, the body says
// only ready or not, never an upstream's name.
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, loadGatewayConfig } from "../../src/index.js";
import { stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

/** A raw request (node:http, so the Host header can be anything). */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

const json = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;

async function start(dir: string, config: string): Promise<Gateway> {
  const file = writeGatewayFiles(dir, config);
  return Gateway.start({ config: loadGatewayConfig(file), watch: false, log: () => {} });
}

describe("/healthz and /readyz", () => {
  let gw: Gateway;
  let dir: string;
  let port: number;
  const script = () => join(dir, "per-session-server.sh");
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(script(), "#!/bin/sh\nexit 0\n");
    chmodSync(script(), 0o755);
    gw = await start(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${stdioUpstream("shared")}    sessions: shared\n  - name: own\n    command: ${JSON.stringify(script())}\n  - name: remote\n    url: http://127.0.0.1:9/mcp\n`,
    );
    port = gw.address!.port;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("is live, and ready once the shared upstream is up, naming each upstream's state", async () => {
    const live = await get(port, "/healthz");
    expect(live.status).toBe(200);
    expect(json(live)).toEqual({ status: "ok" });
    expect(live.headers["cache-control"]).toBe("no-store");
    await until(async () => (await get(port, "/readyz")).status === 200, 10_000, "ready");
    expect(json(await get(port, "/readyz"))).toEqual({
      status: "ready",
      upstreams: [
        { name: "shared", sessions: "shared", state: "up" },
        { name: "own", sessions: "per_session", state: "idle" },
        { name: "remote", sessions: "per_session", state: "idle" },
      ],
    });
    expect((await get(port, "/readyz?verbose=1")).status).toBe(200);
    const head = await get(port, "/readyz", {}, "HEAD");
    expect([head.status, head.body]).toEqual([200, ""]);
    const post = await get(port, "/healthz", {}, "POST");
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
  });

  it("is not MCP traffic: no session opened, no audit line, no decision", async () => {
    for (const p of ["/healthz", "/readyz", "/healthz", "/readyz"]) await get(port, p);
    expect(gw.sessions.size).toBe(0);
    expect(gw.http!.sessions.size).toBe(0);
    gw.audit!.flush();
    expect(gw.audit!.written).toBe(0);
    expect(gw.views().decisions()).toEqual([]);
  });

  it("answers a foreign Host (a probe at the pod's address) without naming anything", async () => {
    const live = await get(port, "/healthz", { host: "10.1.2.3:8080" });
    expect([live.status, json(live)]).toEqual([200, { status: "ok" }]);
    const ready = await get(port, "/readyz", { host: "attacker.example" });
    expect(ready.status).toBe(200);
    expect(json(ready)).toEqual({ status: "ready" });
    // the MCP endpoint keeps refusing that Host
    expect((await get(port, "/mcp", { host: "attacker.example" })).status).toBe(403);
  });

  it("is not ready when a per-session upstream's command is gone, naming it and why", async () => {
    rmSync(script());
    try {
      const r = await get(port, "/readyz");
      expect(r.status).toBe(503);
      expect(json(r)).toEqual({
        status: "not_ready",
        not_ready: [
          {
            upstream: "own",
            state: "idle",
            reason:
              "its command cannot be started: not found or not executable (warden gateway --check says more)",
          },
        ],
        upstreams: expect.any(Array),
      });
      expect((await get(port, "/healthz")).status).toBe(200);
    } finally {
      writeFileSync(script(), "#!/bin/sh\nexit 0\n");
      chmodSync(script(), 0o755);
    }
    expect((await get(port, "/readyz")).status).toBe(200);
  });
});

describe("/readyz with a shared upstream that is not up", () => {
  it("answers 503 naming it once it has failed, and why", async () => {
    const dir = tempDir();
    const gw = await start(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nrestart: { initial_ms: 50, max_ms: 50, max_attempts: 2 }\nupstreams:\n  - name: dies\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", "process.exit(3)"]\n    sessions: shared\n`,
    );
    try {
      const port = gw.address!.port;
      await until(
        () => gw.views().upstreams()[0]!.state === "failed",
        10_000,
        "the shared upstream gave up",
      );
      const r = await get(port, "/readyz");
      expect(r.status).toBe(503);
      expect(json(r)).toEqual({
        status: "not_ready",
        not_ready: [
          {
            upstream: "dies",
            state: "failed",
            reason: "the shared upstream failed and is not restarted: fix its entry and reload",
          },
        ],
        upstreams: [{ name: "dies", sessions: "shared", state: "failed" }],
      });
      expect(gw.views().upstreams()[0]!.restarts).toBe(2); // restarted twice (max_attempts), died each time
      expect(gw.views().upstreams()[0]!.lastError?.message).toMatch(/connection closed/);
      expect((await get(port, "/healthz")).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe("/readyz when auth is configured", () => {
  let gw: Gateway;
  let port: number;
  beforeAll(async () => {
    process.env.WARDEN_HEALTH_TOKEN = "health-secret";
    const dir = tempDir();
    gw = await start(
      dir,
      `listen: { http: { port: 0 } }\nauth: { tokens: [{ name: ops, env: WARDEN_HEALTH_TOKEN }] }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("secretive")}    sessions: shared\n`,
    );
    port = gw.address!.port;
    await until(() => gw.views().readiness().ready, 10_000, "ready");
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("needs no token, and without one says only ready or not", async () => {
    expect((await get(port, "/healthz")).status).toBe(200);
    const anon = await get(port, "/readyz");
    expect(anon.status).toBe(200);
    expect(anon.body).toBe('{"status":"ready"}');
    expect(anon.body).not.toMatch(/secretive/);
    const wrong = await get(port, "/readyz", { authorization: "Bearer nope" });
    expect(wrong.body).toBe('{"status":"ready"}');
    const ops = await get(port, "/readyz", { authorization: "Bearer health-secret" });
    expect(json(ops)).toEqual({
      status: "ready",
      upstreams: [{ name: "secretive", sessions: "shared", state: "up" }],
    });
    // the MCP endpoint still wants the token
    expect((await get(port, "/mcp")).status).toBe(401);
  });
});
