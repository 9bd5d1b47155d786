// The gateway's read-only views (Gateway.views(): what an admin layer is handed): rug_pull's pins,
// each upstream's health, readiness and the recent audit lines, seen after real calls through a
// real SDK client to real fixture upstreams (one per session, one shared), after a denied call,
// after a crash of each upstream, past the ring's bound; and no caller can change the gateway
// through what a view returned.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/index.js";
import { Gateway, loadGatewayConfig } from "../../src/index.js";
import { alive, httpClient, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STALE = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

async function start(
  file: string,
  recentDecisions?: number,
): Promise<{ gw: Gateway; url: string }> {
  const gw = await Gateway.start({
    config: loadGatewayConfig(file),
    watch: false,
    log: () => {},
    ...(recentDecisions === undefined ? {} : { recentDecisions }),
  });
  return { gw, url: `http://127.0.0.1:${gw.address!.port}/mcp` };
}

describe("Gateway.views()", () => {
  let gw: Gateway;
  let url: string;
  let client: Client;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    // rug_pull pinned b's echo at another version: the one it serves now is a pending change
    mkdirSync(join(dir, "state"));
    writeFileSync(
      join(dir, "state", "pins.json"),
      JSON.stringify({
        version: 1,
        servers: {
          b: { echo: { hash: STALE, description: "old", seen_at: "2026-01-01T00:00:00.000Z" } },
        },
      }),
    );
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\nstate: { dir: ./state }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nrestart: { initial_ms: 100, max_ms: 400 }\nupstreams:\n${stdioUpstream("a")}${stdioUpstream("b")}    sessions: shared\nsecurity_guards:\n  - id: rp\n    type: rug_pull\n`,
    );
    ({ gw, url } = await start(cfg));
  });
  afterAll(async () => {
    await client?.close().catch(() => {});
    await gw?.stop();
  });

  const up = (name: string) =>
    gw
      .views()
      .upstreams()
      .find((u) => u.name === name)!;

  it("shows the shared upstream up before any session, the per-session one idle", async () => {
    await until(() => up("b").state === "up", 10_000, "shared upstream b up");
    expect(up("b")).toMatchObject({
      transport: "stdio",
      sessions: "shared",
      restarts: 0,
      lastError: null,
      sessionsUsing: 0,
    });
    expect(up("b").pids).toHaveLength(1);
    expect(up("a")).toEqual({
      name: "a",
      transport: "stdio",
      sessions: "per_session",
      state: "idle",
      pids: [],
      restarts: 0,
      lastError: null,
      sessionsUsing: 0,
    });
    expect(gw.views().readiness()).toEqual({ ready: true, notReady: [] });
  });

  it("shows each upstream's health after real calls", async () => {
    client = await httpClient(url);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toContain("a__echo");
    expect(listed).not.toContain("b__echo"); // rug_pull hides the changed tool
    await client.callTool({ name: "a__echo", arguments: { text: "hi" } });
    await client.callTool({ name: "b__add", arguments: { a: 1, b: 2 } });
    const a = up("a");
    expect(a).toMatchObject({ state: "up", sessionsUsing: 1, restarts: 0, lastError: null });
    expect(a.pids).toHaveLength(1);
    expect(alive(a.pids[0]!)).toBe(true);
    expect(up("b")).toMatchObject({ state: "up", sessionsUsing: 1 });
    expect(up("b").pids[0]).not.toBe(a.pids[0]);
  });

  it("shows what rug_pull pinned, with hash and time, and the change waiting for approval", async () => {
    const view = await gw.views().pins();
    expect(view).toMatchObject({ store: "files", problems: [], truncated: false });
    const pins = view.pins;
    const aEcho = pins.find((p) => p.upstream === "a" && p.tool === "echo")!;
    expect(aEcho).toMatchObject({ approvedBy: null, pending: null });
    expect(aEcho.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(aEcho.pinnedAt).toMatch(ISO);
    expect(aEcho.file).toBe(join(dir, "state", "pins.json"));
    expect(pins.filter((p) => p.upstream === "a").map((p) => p.tool)).toContain("add");
    const bEcho = pins.find((p) => p.upstream === "b" && p.tool === "echo")!;
    expect(bEcho.hash).toBe(STALE);
    expect(bEcho.pinnedAt).toBe("2026-01-01T00:00:00.000Z");
    // the same fixture server: what b serves now is what a was pinned at
    expect(bEcho.pending).toEqual({ hash: aEcho.hash, seenAt: expect.stringMatching(ISO) });
  });

  it("shows a denied call first among the recent decisions, filtered by verdict and tool", async () => {
    const denied = await client.callTool({ name: "a__stats", arguments: {} }).catch((e) => e);
    expect(denied).toBeInstanceOf(McpError);
    const changed = await client
      .callTool({ name: "b__echo", arguments: { text: "x" } })
      .catch((e) => e);
    expect((changed as McpError).message).toMatch(/changed since it was approved/);
    const denials = gw.views().decisions({ decision: "deny", phase: "decision" });
    expect(denials[0]).toMatchObject({
      phase: "decision",
      method: "tools/call",
      name: "b__echo",
      upstream: "b",
      caller: "anonymous",
      decision: "deny",
      rule: "security_guards.rp",
    });
    expect(denials[1]).toMatchObject({ name: "a__stats", decision: "deny", upstream: "a" });
    expect(denials[1]!.rule).toMatch(/policy\.yaml:\d+/);
    expect(
      gw
        .views()
        .decisions({ decision: "deny", tool: "a__*" })
        .map((r) => r.name),
    ).toEqual(["a__stats"]);
    const echoes = gw.views().decisions({ tool: "a__echo" });
    // newest first: the outcome line of the allowed call, then its decision line
    expect(echoes.map((r) => [r.phase, r.decision])).toEqual([
      ["outcome", "allow"],
      ["decision", "allow"],
    ]);
    expect(echoes[0]!.call_id).toBe(echoes[1]!.call_id);
    expect(gw.views().decisions({ decision: "deny", limit: 1 })).toHaveLength(1);
    expect(gw.views().decisions({ caller: "someone-else" })).toEqual([]);
  });

  it("hears each new audit line as it is written; a listener that throws stops nothing", async () => {
    const heard: AuditRecord[] = [];
    const stop = gw.views().onDecision((r) => heard.push(r));
    const stopBad = gw.views().onDecision(() => {
      throw new Error("a broken admin page");
    });
    await client.callTool({ name: "a__add", arguments: { a: 2, b: 3 } });
    stop();
    stopBad();
    await client.callTool({ name: "a__add", arguments: { a: 4, b: 5 } });
    expect(heard.map((r) => [r.name, r.phase])).toEqual([
      ["a__add", "decision"],
      ["a__add", "outcome"],
    ]);
    expect(Object.isFrozen(heard[0])).toBe(true);
    // the ring and the file got every line, the second call's too
    expect(gw.views().decisions({ tool: "a__add" })).toHaveLength(4);
    gw.audit!.flush();
    const lines = readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n");
    expect(lines.filter((l) => l.includes('"name":"a__add"'))).toHaveLength(4);
  });

  it("shows restarts and the last error after each upstream crashes", async () => {
    const before = up("a").pids[0]!;
    process.kill(before, "SIGKILL");
    await until(() => up("a").restarts === 1 && up("a").state === "up", 10_000, "a restarted");
    const a = up("a");
    expect(a.pids).toHaveLength(1);
    expect(a.pids[0]).not.toBe(before);
    expect(a.lastError?.message).toMatch(/connection closed/);
    expect(a.lastError?.at).toMatch(ISO);
    const shared = up("b").pids[0]!;
    process.kill(shared, "SIGKILL");
    await until(() => up("b").restarts === 1 && up("b").state === "up", 10_000, "b restarted");
    expect(up("b").pids[0]).not.toBe(shared);
    expect(up("b").lastError?.message).toMatch(/connection closed/);
    expect(gw.views().readiness().ready).toBe(true);
  });

  it("hands out frozen copies: changing one changes neither the gateway nor the next view", async () => {
    const v = gw.views();
    const ups = v.upstreams();
    const first = JSON.stringify(ups);
    expect(() => {
      (ups[0] as { state: string }).state = "failed";
    }).toThrow(TypeError);
    expect(() => (ups as unknown[]).push({})).toThrow(TypeError);
    expect(() => (ups[0]!.pids as number[]).push(1)).toThrow(TypeError);
    expect(JSON.stringify(v.upstreams())).toBe(first);

    const recs = v.decisions();
    expect(() => {
      (recs[0] as { decision: string }).decision = "deny";
    }).toThrow(TypeError);
    expect(() => (recs as unknown[]).splice(0)).toThrow(TypeError);
    const withArgs = recs.find((r) => r.arguments !== undefined)!;
    expect(() => {
      (withArgs.arguments as Record<string, unknown>).injected = 1;
    }).toThrow(TypeError);
    expect(v.decisions()[0]).toEqual(recs[0]);

    const pins = (await v.pins()).pins;
    expect(() => {
      (pins[0] as { hash: string }).hash = "sha256:forged";
    }).toThrow(TypeError);
    expect((await v.pins()).pins).toEqual(pins);

    const ready = v.readiness();
    expect(() => (ready.notReady as unknown[]).push({})).toThrow(TypeError);
    expect(v.readiness().notReady).toEqual([]);
  });

  it("approves a pending pin only at the hash reviewed; the tool is served and callable again", async () => {
    const v = gw.views();
    const echoOfB = async () =>
      (await v.pins()).pins.find((p) => p.upstream === "b" && p.tool === "echo")!;
    const pending = (await echoOfB()).pending!;
    expect(pending).not.toBeNull();
    // a hash other than the pending one (a newer change nobody saw) approves nothing
    await expect(v.approvePin("b", "echo", STALE, "page")).rejects.toThrow(
      expect.objectContaining({ code: "pin_not_found" }),
    );
    await expect(v.approvePin("b", "nope", pending.hash, "page")).rejects.toThrow(
      /No pending change/,
    );
    expect((await echoOfB()).pending).toEqual(pending);

    const approved = await v.approvePin("b", "echo", pending.hash, "alice");
    expect(approved).toEqual([
      expect.objectContaining({
        upstream: "b",
        tool: "echo",
        hash: pending.hash,
        approvedBy: "alice",
        pending: null,
      }),
    ]);
    expect(Object.isFrozen(approved[0])).toBe(true);
    // approving again (a second person, a second click) finds it approved: the same answer
    expect(await v.approvePin("b", "echo", pending.hash, "bob")).toEqual(approved);
    // rug_pull reads the file within its refresh interval: the call goes through
    let last: unknown;
    await until(
      async () => {
        last = await client.listTools().then((r) => r.tools.map((t) => t.name));
        return (last as string[]).includes("b__echo");
      },
      10_000,
      "b__echo listed after approval",
    ).catch((e) => {
      throw new Error(`${e}: ${JSON.stringify(last)}`);
    });
    const r = await client.callTool({ name: "b__echo", arguments: { text: "ok" } });
    expect(r.content).toEqual([{ type: "text", text: "ok" }]);
  });
});

describe("the recent decisions' ring", () => {
  it("refuses a bound that is not a whole number of lines, 1 or more", async () => {
    const dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a")}`,
    );
    for (const n of [0, -1, 2.5])
      await expect(start(cfg, n)).rejects.toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(/recentDecisions\); got/),
      });
  });

  it("keeps the newest lines only, up to its bound", async () => {
    const dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl, arguments: full }\nupstreams:\n${stdioUpstream("a")}`,
    );
    const { gw, url } = await start(cfg, 5);
    const client = await httpClient(url);
    try {
      for (let i = 0; i < 12; i++)
        await client.callTool({ name: "echo", arguments: { text: `n${i}` } });
      const all = gw.views().decisions();
      expect(all).toHaveLength(5);
      // newest first: the last call's outcome and decision, then the one before it, ...
      expect(
        all.map((r) => [r.phase, (r.arguments as { text?: string } | undefined)?.text]),
      ).toEqual([
        ["outcome", undefined],
        ["decision", "n11"],
        ["outcome", undefined],
        ["decision", "n10"],
        ["outcome", undefined],
      ]);
    } finally {
      await client.close();
      await gw.stop();
    }
  });
});
