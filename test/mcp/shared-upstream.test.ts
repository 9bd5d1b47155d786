// `upstreams[].sessions: shared` (issue 18, point 4): one upstream process serves every client
// session; ids and progress tokens are remapped so that no session receives, cancels or follows
// another's call; list_changed fans out, resources/updated only to subscribers; a session that
// ends does not stop the upstream; a crash fails every session's calls and they keep working.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  alive,
  type ClientLog,
  httpClient,
  startGateway,
  stdioGatewayClient,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";
import { INIT } from "./http-raw.js";

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow: ["echo", "slow", "sample", "update_resource", "toggle_dynamic", "stats", "add"]
  resources:
    allow:
      - uri: "test://watched-resource"
`;

/** A JSON-RPC answer as these tests read it. */
type Rpc = {
  id: number;
  result: { content: { text: string }[]; serverInfo: { name: string } };
  error: { message: string };
};
const json = async (r: Response): Promise<Rpc> => (await r.json()) as Rpc;

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
  it("attacker: session B cannot receive or cancel session A's call, though both use id 7", async () => {
    const open = async () => {
      const r = await post(url, INIT);
      await r.arrayBuffer();
      return r.headers.get("mcp-session-id")!;
    };
    const [sa, sb] = [await open(), await open()];
    const as = (sid: string, m: unknown) =>
      post(url, JSON.stringify(m), { "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" });
    const call = (id: number, name: string, args: unknown) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: args },
    });
    const stats = async () => {
      const r = await json(await as(sb, call(99, "stats", {})));
      return JSON.parse(r.result.content[0]!.text) as { slowStarted: number; cancelled: number };
    };
    const s0 = await stats();
    // A: a slow call with id 7, in flight
    const aAnswer = as(sa, call(7, "slow", { ms: 2000, steps: 2 })).then(json);
    await until(async () => (await stats()).slowStarted === s0.slowStarted + 1);
    // B names A's id in a cancel, and uses id 7 itself
    const cancel = await as(sb, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 7, reason: "attacker" },
    });
    expect(cancel.status).toBe(202);
    const b = await json(await as(sb, call(7, "echo", { text: "mine" })));
    expect(b).toEqual({
      jsonrpc: "2.0",
      id: 7,
      result: { content: [{ type: "text", text: "mine" }] },
    });
    const a = await aAnswer;
    expect(a.id).toBe(7);
    expect(a.result.content[0]!.text).toBe("slept 2000 ms");
    expect((await stats()).cancelled).toBe(s0.cancelled);
    // the control: B cancelling its own call does reach the upstream
    const bSlow = as(sb, call(8, "slow", { ms: 30_000, steps: 1 }));
    await until(async () => (await stats()).slowStarted === s0.slowStarted + 2);
    await as(sb, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 8 } });
    await until(async () => (await stats()).cancelled === s0.cancelled + 1);
    void bSlow.catch(() => {});
  });

  it("list_changed reaches every session; resources/updated only the sessions that subscribed", async () => {
    const logA: ClientLog = { roots: [], notifications: [] };
    const logB: ClientLog = { roots: [], notifications: [] };
    const a = await httpClient(url, logA);
    const b = await httpClient(url, logB);
    const subs = async () =>
      (
        JSON.parse(text(await b.callTool({ name: "stats", arguments: {} }))) as {
          subscriptions: string[];
        }
      ).subscriptions;
    const updated = (l: ClientLog) =>
      l.notifications.filter((n) => n.method === "notifications/resources/updated").length;
    try {
      await a.callTool({ name: "toggle_dynamic", arguments: { kind: "tools" } });
      for (const l of [logA, logB])
        await until(() =>
          l.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        );
      // A subscribes; B's update reaches A only
      await a.subscribeResource({ uri: "test://watched-resource" });
      expect(await subs()).toEqual(["test://watched-resource"]);
      await b.callTool({ name: "update_resource", arguments: {} });
      await until(() => updated(logA) === 1);
      await b.callTool({ name: "echo", arguments: { text: "sync" } });
      expect(updated(logB)).toBe(0);
      // B unsubscribing what it never subscribed to changes nothing for A
      await b.unsubscribeResource({ uri: "test://watched-resource" });
      expect(await subs()).toEqual(["test://watched-resource"]);
      // B subscribes too, A leaves: the upstream stays subscribed, for B only
      await b.subscribeResource({ uri: "test://watched-resource" });
      await a.unsubscribeResource({ uri: "test://watched-resource" });
      expect(await subs()).toEqual(["test://watched-resource"]);
      await a.callTool({ name: "update_resource", arguments: {} });
      await until(() => updated(logB) === 1);
      await a.callTool({ name: "echo", arguments: { text: "sync" } });
      expect(updated(logA)).toBe(1);
      // the last one leaves: the upstream is unsubscribed
      await b.unsubscribeResource({ uri: "test://watched-resource" });
      expect(await subs()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("sessions: shared behind the stdio front", () => {
  it("serves the one stdio session through the gateway's shared connection", async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}    sessions: shared\n`,
      POLICY,
    );
    const { client } = await stdioGatewayClient(cfg);
    try {
      expect(text(await client.callTool({ name: "echo", arguments: { text: "via stdio" } }))).toBe(
        "via stdio",
      );
      const st = JSON.parse(text(await client.callTool({ name: "stats", arguments: {} })));
      expect(st.clientInfo.name).toBe("warden-gateway");
    } finally {
      await client.close();
    }
  });
});

describe("sessions: shared across a config reload", () => {
  it("a changed shared upstream gets a new process; the old one stops; sessions keep working", async () => {
    const dir = tempDir();
    const config = (env: string) =>
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}    sessions: shared\n    env: { MARK: "${env}" }\n`;
    const cfg = writeGatewayFiles(dir, config("one"), POLICY);
    const { gw, url } = await startGateway(cfg);
    const a = await httpClient(url);
    try {
      expect(text(await a.callTool({ name: "echo", arguments: { text: "1" } }))).toBe("1");
      const old = gw.shared.get("fx")!;
      const pid = old.pid()!;
      writeFileSync(cfg, config("two"));
      expect(gw.reload().ok).toBe(true);
      const works = () =>
        a
          .callTool({ name: "echo", arguments: { text: "2" } })
          .then((r) => text(r) === "2")
          .catch(() => false);
      await until(works, 10_000, "the session on the new shared upstream");
      const now = gw.shared.get("fx")!;
      expect(now).not.toBe(old);
      expect(now.pid()).not.toBe(pid);
      await until(() => !alive(pid), 10_000, "the old shared upstream stopped");
      const b = await httpClient(url);
      expect(text(await b.callTool({ name: "echo", arguments: { text: "3" } }))).toBe("3");
      expect(now.sessions).toBe(2);
      await b.close();
    } finally {
      await a.close();
      await gw.stop();
    }
  });
});
