/**
 * Every message refused before it could be judged leaves an audit line with its code, over
 * stdio and over HTTP; with audit.level all, what passes unjudged (notifications both ways,
 * ping, cancellations naming nothing) leaves one too (docs/audit.md, "Refusals" and "Levels").
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type AuditLine, auditLines } from "./audit-schema.js";
import { startGateway, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { RawStdio } from "./raw-stdio.js";

type Obj = Record<string, unknown>;

const refusals = (file: string) =>
  auditLines(file).filter((l) => l.code !== undefined && l.phase === "decision");

async function linesUntil(
  file: string,
  pick: (f: string) => AuditLine[],
  n: number,
  what: string,
): Promise<AuditLine[]> {
  await until(() => pick(file).length >= n, 15_000, what);
  return pick(file);
}

describe("refused messages are audited over stdio", () => {
  let raw: RawStdio | undefined;
  afterEach(async () => {
    await raw?.close();
    raw = undefined;
  });

  it("writes a decision line with the refusal's code for each message refused at the front or in the session", async () => {
    const dir = tempDir();
    const file = join(dir, "audit.jsonl");
    raw = new RawStdio(
      writeGatewayFiles(
        dir,
        `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nlimits: { client_message_bytes: 4096, json_depth: 8 }\nupstreams:\n${stdioUpstream("fx")}`,
      ),
    );
    // before initialize
    expect(raw.lines.length).toBe(0);
    await raw.request(1, "tools/list");
    await raw.initialize(2, "c");
    const sent: [string, string][] = [];
    const refuse = async (line: string, method: string, code: string) => {
      const from = raw!.lines.length;
      raw!.write(line);
      await raw!.next((m) => "error" in m, `the refusal of ${line.slice(0, 60)}`, from);
      sent.push([method, code]);
    };
    await refuse("{not json", "-", "message_invalid");
    await refuse("[]", "-", "message_invalid");
    await refuse('{"jsonrpc":"1.0","id":3,"method":"tools/list"}', "tools/list", "message_invalid");
    await refuse(
      JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: deep(20) }),
      "tools/call",
      "message_invalid",
    );
    await refuse(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: { a: "x".repeat(5000) },
      }),
      "-",
      "message_too_large",
    );
    await refuse('{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}', "tools/list", "id_unsafe");
    await refuse(
      JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: 5 } }),
      "tools/call",
      "message_invalid",
    );
    await refuse(
      JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tasks/get", params: { taskId: "t-none" } }),
      "tasks/get",
      "unknown_target",
    );
    const lines = await linesUntil(file, refusals, sent.length + 1, "the refusal lines").catch(
      (e) => {
        throw new Error(`${e}: ${JSON.stringify(refusals(file).map((l) => [l.method, l.code]))}`);
      },
    );
    expect(lines.map((l) => [l.method, l.code])).toEqual([
      ["tools/list", "not_initialized"],
      ...sent,
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({ decision: "deny", upstream: null, caller: "stdio" });
      expect(typeof l.session).toBe("string");
      expect(String(l.reason).length).toBeGreaterThan(10);
      expect(String(l.reason).length).toBeLessThanOrEqual(503);
    }
    expect(lines.find((l) => l.code === "unknown_target")?.name).toBe("t-none");
    // the client was answered with the same code
    const errs = raw.lines.filter((m) => "error" in m).map((m) => (m.error as Obj).data as Obj);
    expect(errs.map((d) => d?.warden)).toEqual(lines.map((l) => l.code));
  });
});

function deep(n: number): Obj {
  let v: Obj = { name: "echo" };
  for (let i = 0; i < n; i++) v = { v };
  return v;
}

describe("refused messages are audited over HTTP", () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it("writes a line for each refused POST, with the session it names (or null) and its code", async () => {
    const dir = tempDir();
    const file = join(dir, "audit.jsonl");
    const started = await startGateway(
      writeGatewayFiles(
        dir,
        `listen: { http: { port: 0, json_response: true, max_body_bytes: 2048 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nlimits: { json_depth: 8 }\nupstreams:\n${stdioUpstream("fx")}`,
      ),
    );
    gw = started.gw;
    const post = async (body: string, session?: string) => {
      const r = await fetch(started.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(session ? { "mcp-session-id": session } : {}),
        },
        body,
      });
      const text = await r.text();
      return { status: r.status, session: r.headers.get("mcp-session-id"), body: text };
    };
    const init = (session?: string) =>
      post(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x" } },
        }),
        session,
      );
    const first = await init();
    expect(first.status).toBe(200);
    const sid = first.session!;
    const statuses: number[] = [];
    for (const [body, session] of [
      ["{oops", undefined],
      ["{oops", sid],
      [JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: deep(20) }), sid],
      [JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }), undefined],
      [JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list" }), "gone"],
      [
        JSON.stringify({ jsonrpc: "2.0", id: 5, method: "x", params: { a: "y".repeat(4096) } }),
        sid,
      ],
    ] as const)
      statuses.push((await post(body, session)).status);
    statuses.push((await init(sid)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 404, 413, 400]);
    const lines = await linesUntil(file, refusals, 7, "the refusal lines");
    expect(lines.map((l) => [l.method, l.code, l.session === sid ? "sid" : l.session])).toEqual([
      ["-", "message_invalid", null],
      ["-", "message_invalid", "sid"],
      ["tools/call", "message_invalid", "sid"],
      ["tools/list", "not_initialized", null],
      ["tools/list", "session_unknown", null],
      ["-", "message_too_large", "sid"],
      ["initialize", "already_initialized", "sid"],
    ]);
    for (const l of lines) expect(l).toMatchObject({ decision: "deny", caller: "anonymous" });
  });
});

describe("audit.level all", () => {
  let raw: RawStdio | undefined;
  afterEach(async () => {
    await raw?.close();
    raw = undefined;
  });

  const config = (dir: string, level: string) =>
    writeGatewayFiles(
      dir,
      `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl, level: ${level} }\nupstreams:\n${stdioUpstream("fx")}`,
    );

  /** ping, a log notification from the upstream, a cancellation naming no request, a list_changed. */
  async function traffic(r: RawStdio): Promise<void> {
    await r.initialize(1, "c");
    expect((await r.request(2, "ping")).result).toEqual({});
    const from = r.lines.length;
    const a = await r.request(3, "tools/call", {
      name: "log",
      arguments: { level: "error", message: "hi" },
    });
    expect(a.result).toBeDefined();
    await r.next((m) => m.method === "notifications/message", "the log notification", from);
    r.write({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 99 } });
    r.write({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
    await r.request(4, "ping");
  }

  it("writes a passthrough line for each message passed on unjudged, in both directions", async () => {
    const dir = tempDir();
    const file = join(dir, "audit.jsonl");
    raw = new RawStdio(config(dir, "all"));
    await traffic(raw);
    const pass = (f: string) => auditLines(f).filter((l) => l.kind === "passthrough");
    const lines = await linesUntil(file, pass, 6, "the passthrough lines");
    expect(lines.map((l) => [l.from, l.method, l.decision, l.upstream])).toEqual([
      ["client", "notifications/initialized", "allow", null],
      ["client", "ping", "allow", null],
      ["upstream", "notifications/message", "allow", "fx"],
      ["client", "notifications/cancelled", "deny", null],
      ["client", "notifications/roots/list_changed", "allow", null],
      ["client", "ping", "allow", null],
    ]);
    expect(lines[3]!.reason).toMatch(/names no request in flight/);
    for (const l of lines) expect(l.phase).toBe("event");
  });

  it("writes none of them at the default level (calls)", async () => {
    const dir = tempDir();
    const file = join(dir, "audit.jsonl");
    raw = new RawStdio(config(dir, "calls"));
    await traffic(raw);
    await raw.close();
    const lines = auditLines(file);
    expect(lines.filter((l) => l.kind === "passthrough")).toEqual([]);
    expect(lines.map((l) => [l.method, l.phase])).toEqual([
      ["initialize", "decision"],
      ["initialize", "outcome"],
      ["tools/call", "decision"],
      ["tools/call", "outcome"],
    ]);
  });

  it("refuses an audit.level it does not know, naming the key", async () => {
    const { parseConfig } = await import("../../src/mcp/config.js");
    const c = parseConfig(
      "listen: stdio\npolicy: ./p.yaml\naudit: { file: ./a.jsonl, level: everything }\nupstreams: []\n",
      "/tmp/warden.yaml",
    );
    expect(c.ok).toBe(false);
    if (!c.ok)
      expect(c.errors.find((e) => e.key === "audit.level")?.message).toMatch(
        /audit\.level must be "calls"/,
      );
  });
});

describe("metrics of refusals", () => {
  it("label a method MCP does not define as other, so that clients cannot grow the label set", async () => {
    const { GatewayMetrics } = await import("../../src/mcp/metrics.js");
    const m = new GatewayMetrics();
    for (let i = 0; i < 50; i++)
      m.record(
        {
          phase: "decision",
          upstream: null,
          method: `x/evil${i}`,
          decision: "deny",
          duration_ms: 0,
        },
        true,
      );
    m.record(
      { phase: "decision", upstream: null, method: "tools/call", decision: "deny", duration_ms: 0 },
      true,
    );
    const text = await m.registry.metrics();
    expect(text).toMatch(/warden_mcp_decisions_total\{method="other",decision="deny"\} 50/);
    expect(text).toMatch(/warden_mcp_decisions_total\{method="tools\/call",decision="deny"\} 1/);
    expect(text).not.toMatch(/evil/);
  });
});

describe("a list that ends before it can be judged", () => {
  it("gets an outcome line (here: the upstream's list is not MCP's shape, answered with an error)", async () => {
    const { hostileUpstream, RawGateway } = await import("./raw-gateway.js");
    const dir = tempDir();
    const gw = new RawGateway(
      writeGatewayFiles(
        dir,
        `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${hostileUpstream("h")}`,
        `version: "1.0"\nmcp:\n  transport: { stdio: true }\n  tools: { allow: ["*"] }\n`,
      ),
    );
    try {
      await gw.initialize();
      await gw.call(1, "bad_list");
      const l = await gw.request(2, "tools/list");
      expect(l.error).toMatchObject({ data: { warden: "message_invalid" } });
      const file = join(dir, "audit.jsonl");
      const lists = (f: string) => auditLines(f).filter((x) => x.method === "tools/list");
      const lines = await linesUntil(file, lists, 1, "the tools/list line");
      expect(lines.map((x) => [x.phase, x.outcome, x.upstream, x.decision])).toEqual([
        ["outcome", "error", "h", "allow"],
      ]);
      expect((lines[0]!.error as Obj).message).toMatch(/tools\[0\] must be an object/);
    } finally {
      await gw.close();
    }
  });
});
