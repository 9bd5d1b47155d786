// `upstreams[].sessions: shared` (issue 18, point 4): one upstream process serves every client
// session; ids and progress tokens are remapped so that no session receives, cancels or follows
// another's call; list_changed fans out, resources/updated only to subscribers; a session that
// ends does not stop the upstream; a crash fails every session's calls and they keep working.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  alive,
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow: ["echo", "slow", "sample", "update_resource", "toggle_dynamic", "stats", "add"]
  resources:
    allow:
      - uri: "test://watched-resource"
`;

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  },
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body,
  });

/** Child processes of this test process (the gateway runs in-process: its upstreams). */
const children = () =>
  execFileSync("ps", ["-o", "pid=", "--ppid", String(process.pid)], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.trim() !== "").length;

const text = (r: unknown) =>
  ((r as { content: { type: string; text: string }[] }).content[0] as { text: string }).text;

describe("sessions: shared, a stdio upstream", () => {
  let gw: Gateway;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0, max_sessions_per_token: 200 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl, arguments: full }\nrestart: { initial_ms: 200, max_ms: 1000 }\nupstreams:\n${stdioUpstream("fx")}    sessions: shared\n`,
      POLICY,
    );
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("150 initialize calls without DELETE leave exactly one upstream process", async () => {
    const before = children();
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const r = await post(url, INIT);
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    await until(() => gw.sessions.size >= 150);
    expect(children() - before).toBe(1);
    const shared = gw.shared.get("fx")!;
    expect(shared.sessions).toBe(150);
    const pids = new Set([...gw.sessions].map((s) => s.upstreams()[0]!.pid));
    expect([...pids]).toEqual([shared.pid()]);
  });

  it("a session that ends (DELETE) does not stop the shared upstream", async () => {
    const a = await httpClient(url);
    const pid = gw.shared.get("fx")!.pid()!;
    await a.close(); // the SDK client closes its transport; end the session too
    const r = await post(url, INIT);
    const sid = r.headers.get("mcp-session-id")!;
    await r.arrayBuffer();
    const del = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": sid } });
    expect(del.status).toBe(200);
    expect(alive(pid)).toBe(true);
    const b = await httpClient(url);
    try {
      expect(text(await b.callTool({ name: "echo", arguments: { text: "still up" } }))).toBe(
        "still up",
      );
      expect(gw.shared.get("fx")!.pid()).toBe(pid);
    } finally {
      await b.close();
    }
  });

  it("two sessions using the same request ids get their own answers and their own progress", async () => {
    const a = await httpClient(url);
    const b = await httpClient(url);
    try {
      // both SDK clients number their requests alike: these two calls carry the same id and,
      // as progress tokens, the same token
      const progA: number[] = [];
      const progB: number[] = [];
      const [ra, rb] = await Promise.all([
        a.callTool({ name: "slow", arguments: { ms: 300, steps: 3 } }, undefined, {
          onprogress: (p) => progA.push(p.total ?? -1),
        }),
        b.callTool({ name: "slow", arguments: { ms: 500, steps: 5 } }, undefined, {
          onprogress: (p) => progB.push(p.total ?? -1),
        }),
      ]);
      expect(text(ra)).toBe("slept 300 ms");
      expect(text(rb)).toBe("slept 500 ms");
      expect(progA).toEqual([3, 3, 3]);
      expect(progB).toEqual([5, 5, 5, 5, 5]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
