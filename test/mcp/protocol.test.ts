import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { auditLines } from "./audit-schema.js";
import { startGateway, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";
import { RawStdio } from "./raw-stdio.js";

type Obj = Record<string, unknown>;
const RECORDER = join(import.meta.dirname, "fixtures/recorder-server.mjs");
const RECORDER_POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow: ["seen"]
`;

function stdioConfig(dir: string, upstream: string, extra = "", policy?: string): string {
  return writeGatewayFiles(
    dir,
    `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\n${extra}upstreams:\n${upstream}`,
    policy,
  );
}

function recorderUpstream(): string {
  return `  - name: rec\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(RECORDER)}]\n`;
}

const add = (id: number) => ({ name: "add", arguments: { a: 1, b: id } });
const errorOf = (m: Obj) => m.error as { code: number; message: string; data?: Obj } | undefined;

describe("MCP lifecycle and JSON-RPC rules over stdio (raw client)", () => {
  let raw: RawStdio | undefined;
  afterEach(async () => {
    await raw?.close();
    raw = undefined;
  });

  it("refuses a second initialize, so 9 calls as agent1..agent3 get 3 through a 3-per-minute limit", async () => {
    const dir = tempDir();
    raw = new RawStdio(stdioConfig(dir, stdioUpstream("fx")));
    expect((await raw.initialize(1, "agent1")).result).toBeDefined();
    let id = 10;
    const outcomes: string[] = [];
    for (const agent of ["agent1", "agent2", "agent3"]) {
      if (agent !== "agent1") {
        const again = await raw.initialize(id++, agent);
        expect(errorOf(again)?.code).toBe(-32600);
        expect(errorOf(again)?.message).toMatch(/already initialized/);
        expect(errorOf(again)?.data).toEqual({ warden: "already_initialized" });
      }
      for (let i = 0; i < 3; i++) {
        const a = await raw.request(id, "tools/call", add(id++));
        outcomes.push(a.result ? "ok" : String(errorOf(a)?.data?.decision));
      }
    }
    expect(outcomes).toEqual(["ok", "ok", "ok", ...Array(6).fill("rate_limited")]);
    const file = join(dir, "audit.jsonl");
    await until(
      () =>
        auditLines(file).filter((l) => l.method === "initialize" && l.decision === "deny").length >=
        2,
      10_000,
      "audit lines of the refused initialize calls",
    );
    const refused = auditLines(file).filter(
      (l) => l.method === "initialize" && l.decision === "deny",
    );
    expect(refused.map((l) => l.name)).toEqual(["agent2", "agent3"]);
  });

  it("names the caller from the config, and the client's name only when caller_includes_client_name opts in", async () => {
    const dir = tempDir();
    raw = new RawStdio(
      stdioConfig(dir, stdioUpstream("fx"), "caller: ci\ncaller_includes_client_name: true\n"),
    );
    await raw.initialize(1, "agent1");
    let last: Obj = {};
    for (let id = 2; id <= 5; id++) last = await raw.request(id, "tools/call", add(id));
    expect(errorOf(last)?.data?.decision).toBe("rate_limited");
    expect(errorOf(last)?.message).toContain('by "ci/agent1"');
  });

  it("never forwards a request method sent as a notification (no id); audits and logs the refusal", async () => {
    const dir = tempDir();
    raw = new RawStdio(stdioConfig(dir, recorderUpstream(), "", RECORDER_POLICY));
    await raw.initialize(1, "c");
    raw.write({ jsonrpc: "2.0", method: "tools/call", params: { name: "exec", arguments: {} } });
    raw.write({ jsonrpc: "2.0", method: "resources/read", params: { uri: "file:///etc/passwd" } });
    raw.write({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
    const a = await raw.request(2, "tools/call", { name: "seen", arguments: {} });
    const seen = JSON.parse(((a.result as Obj).content as { text: string }[])[0]!.text) as Obj[];
    // What reached the upstream: its initialize, the two notifications, and nothing else.
    expect(seen.map((m) => m.method)).toEqual([
      "initialize",
      "notifications/initialized",
      "notifications/roots/list_changed",
    ]);
    const file = join(dir, "audit.jsonl");
    await until(
      () => auditLines(file).filter((l) => l.decision === "deny").length >= 2,
      10_000,
      "audit lines of the refused notifications",
    );
    const denied = auditLines(file).filter((l) => l.decision === "deny");
    expect(denied.map((l) => [l.method, l.name])).toEqual([
      ["tools/call", "exec"],
      ["resources/read", "file:///etc/passwd"],
    ]);
    expect(String(denied[0]!.reason)).toMatch(/without an id/);
    expect(raw.stderr).toMatch(/"tools\/call" was sent without an id/);
    // Nothing was written back for them: a notification gets no answer.
    expect(raw.lines.filter((m) => m.id === undefined || m.id === null)).toEqual([]);
  });

  it("refuses numeric ids that are not safe integers with -32600 naming the id; string ids pass as they are", async () => {
    const dir = tempDir();
    raw = new RawStdio(stdioConfig(dir, stdioUpstream("fx")));
    await raw.initialize(1, "c");
    const from = raw.lines.length;
    raw.write('{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}');
    const inf = await raw.next((m) => "error" in m, "the answer to id 1e400", from);
    expect(inf.id).toBe(null);
    expect(errorOf(inf)?.code).toBe(-32600);
    expect(errorOf(inf)?.message).toMatch(/id Infinity \(as parsed\) is not a safe integer/);
    expect(errorOf(inf)?.data).toEqual({ warden: "id_unsafe" });
    const big = raw.lines.length;
    raw.write('{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/list"}');
    const b = await raw.next((m) => "error" in m || "result" in m, "the answer to 2^53+1", big);
    expect(errorOf(b)?.code).toBe(-32600);
    expect(errorOf(b)?.message).toMatch(/id 9007199254740992 \(as parsed\) is not a safe integer/);
    const frac = await raw.request(1.5, "tools/list");
    expect(errorOf(frac)?.code).toBe(-32600);
    expect(errorOf(frac)?.data).toEqual({ warden: "id_unsafe" });
    const s = await raw.request("9007199254740993", "tools/list");
    expect(s.id).toBe("9007199254740993");
    expect((s.result as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
  });

  it("refuses a method MCP does not define with -32601 naming it and how to allow it, unless mcp.methods.allow lists it", async () => {
    const dir = tempDir();
    raw = new RawStdio(
      stdioConfig(
        dir,
        recorderUpstream(),
        "",
        `${RECORDER_POLICY}  methods:\n    allow: ["x/allowed", "vendor/*"]\n    deny: ["vendor/secret"]\n`,
      ),
    );
    await raw.initialize(1, "c");
    const a = await raw.request(2, "x/evil", { name: "seen" });
    expect(errorOf(a)?.code).toBe(-32601);
    expect(errorOf(a)?.message).toContain(
      '"x/evil" is not an MCP request the Warden gateway knows',
    );
    expect(errorOf(a)?.message).toContain("mcp.methods.allow");
    expect(errorOf(a)?.data).toMatchObject({ warden: "method_unknown", method: "x/evil" });
    const d = await raw.request(3, "vendor/secret");
    expect(errorOf(d)?.message).toMatch(/the rule at .*policy\.yaml:\d+ denies it/);
    // Allowed ones pass through: the recorder answers them itself (with its own error).
    expect(errorOf(await raw.request(4, "x/allowed"))?.message).toBe("recorder: x/allowed");
    expect(errorOf(await raw.request(5, "vendor/thing"))?.message).toBe("recorder: vendor/thing");
    const s = await raw.request(6, "tools/call", { name: "seen", arguments: {} });
    const seen = JSON.parse(((s.result as Obj).content as { text: string }[])[0]!.text) as Obj[];
    expect(seen.map((m) => m.method)).toEqual([
      "initialize",
      "notifications/initialized",
      "x/allowed",
      "vendor/thing",
    ]);
    const file = join(dir, "audit.jsonl");
    const mine = () =>
      auditLines(file).filter((l) => l.method !== "initialize" && l.method !== "tools/call");
    await until(() => mine().length >= 6, 10_000, "audit lines");
    expect(mine().map((l) => [l.method, l.phase, l.decision, l.outcome])).toEqual([
      ["x/evil", "decision", "deny", undefined],
      ["vendor/secret", "decision", "deny", undefined],
      ["x/allowed", "decision", "allow", undefined],
      ["x/allowed", "outcome", "allow", "error"],
      ["vendor/thing", "decision", "allow", undefined],
      ["vendor/thing", "outcome", "allow", "error"],
    ]);
    // The outcome line of a passed-through call carries the call_id of its decision line.
    const allowed = mine().filter((l) => l.method === "x/allowed");
    expect(allowed[0]!.call_id).toBeDefined();
    expect(allowed[1]!.call_id).toBe(allowed[0]!.call_id);
  });

  it("answers an upstream's request whose id is not a safe integer with -32600, and does not pass it on", async () => {
    const dir = tempDir();
    raw = new RawStdio(
      stdioConfig(dir, recorderUpstream(), "", RECORDER_POLICY.replace('"seen"', '"seen", "ask"')),
    );
    await raw.initialize(1, "c");
    const a = await raw.request(2, "tools/call", { name: "ask", arguments: {} });
    const got = JSON.parse(((a.result as Obj).content as { text: string }[])[0]!.text) as Obj;
    expect(got.id).toBe(null);
    expect(errorOf(got)?.code).toBe(-32600);
    expect(errorOf(got)?.message).toMatch(
      /roots\/list request's id Infinity .* not a safe integer/,
    );
    expect(errorOf(got)?.data).toEqual({ warden: "id_unsafe" });
    expect(raw.lines.filter((m) => m.method === "roots/list")).toEqual([]);
    expect(raw.stderr).toMatch(/upstream "rec": the roots\/list request's id Infinity/);
  });

  it("answers every method but ping before initialize with -32600, not an empty list", async () => {
    const dir = tempDir();
    raw = new RawStdio(stdioConfig(dir, stdioUpstream("fx")));
    expect((await raw.request(1, "ping")).result).toEqual({});
    for (const [id, method] of [
      [2, "tools/list"],
      [3, "tools/call"],
      [4, "resources/list"],
    ] as const) {
      const a = await raw.request(id, method, method === "tools/call" ? add(1) : {});
      expect(a.result).toBeUndefined();
      expect(errorOf(a)?.code).toBe(-32600);
      expect(errorOf(a)?.message).toMatch(`${method} before initialize`);
      expect(errorOf(a)?.data).toEqual({ warden: "not_initialized" });
    }
    await raw.initialize(5, "c");
    expect(((await raw.request(6, "tools/list")).result as { tools: unknown[] }).tools).not.toEqual(
      [],
    );
  });

  it("answers requests on a session whose initialize was refused with -32600 session_refused", async () => {
    const dir = tempDir();
    raw = new RawStdio(
      stdioConfig(
        dir,
        stdioUpstream("fx"),
        "",
        `version: "1.0"\nmcp:\n  transport: { http: true }\n`,
      ),
    );
    expect(errorOf(await raw.initialize(1, "c"))?.code).toBe(-32003);
    const a = await raw.request(2, "tools/list");
    expect(errorOf(a)?.code).toBe(-32600);
    expect(errorOf(a)?.message).toMatch(/initialize failed or was refused/);
    expect(errorOf(a)?.data).toEqual({ warden: "session_refused" });
  });
});

describe("callers over HTTP", () => {
  let gw: Gateway | undefined;
  afterAll(async () => {
    await gw?.stop();
  });

  it("counts rate limits per authenticated caller: a new session under another client name gets no fresh window", async () => {
    const dir = tempDir();
    const started = await startGateway(
      writeGatewayFiles(
        dir,
        `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("fx")}`,
      ),
    );
    gw = started.gw;
    const outcomes: string[] = [];
    for (const agent of ["agent1", "agent2", "agent3"]) {
      const c = new Client({ name: agent, version: "1.0.0" });
      await c.connect(new StreamableHTTPClientTransport(new URL(started.url)));
      for (let i = 0; i < 3; i++) {
        const r = await c.callTool(add(i)).then(
          () => "ok",
          (e: { data?: Obj }) => String(e.data?.decision),
        );
        outcomes.push(r);
      }
      await c.close();
    }
    expect(outcomes).toEqual(["ok", "ok", "ok", ...Array(6).fill("rate_limited")]);
  });

  it("refuses a second initialize on a session and never forwards a request without an id (raw POSTs)", async () => {
    const dir = tempDir();
    const started = await startGateway(
      writeGatewayFiles(
        dir,
        `listen: { http: { port: 0, json_response: true } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${recorderUpstream()}`,
        RECORDER_POLICY,
      ),
    );
    const http = started.gw;
    try {
      const post = (body: Obj, session?: string) =>
        fetch(started.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            ...(session ? { "mcp-session-id": session } : {}),
          },
          body: JSON.stringify(body),
        });
      const init = (id: number, name: string, session?: string) =>
        post(
          {
            jsonrpc: "2.0",
            id,
            method: "initialize",
            params: {
              protocolVersion: "2025-06-18",
              capabilities: {},
              clientInfo: { name, version: "1" },
            },
          },
          session,
        );
      const first = await init(1, "agent1");
      expect(first.status).toBe(200);
      const session = first.headers.get("mcp-session-id")!;
      await first.text();
      await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, session)).text();
      const again = await init(2, "agent2", session);
      expect(again.status).toBe(400);
      expect(
        ((await again.json()) as { error: { message: string; data: Obj } }).error,
      ).toMatchObject({
        message: expect.stringMatching(/already initialized/),
        data: { warden: "already_initialized" },
      });
      const none = await post({ jsonrpc: "2.0", id: 9, method: "tools/list" });
      expect(none.status).toBe(400);
      expect(((await none.json()) as { error: { data: Obj } }).error.data).toEqual({
        warden: "not_initialized",
      });
      const gone = await post({ jsonrpc: "2.0", id: 9, method: "tools/list" }, "no-such-session");
      expect(gone.status).toBe(404);
      expect(((await gone.json()) as { error: { data: Obj } }).error.data).toEqual({
        warden: "session_unknown",
      });
      const noId = await post(
        { jsonrpc: "2.0", method: "tools/call", params: { name: "exec", arguments: {} } },
        session,
      );
      expect(noId.status).toBe(202);
      await noId.text();
      const seen = (await (
        await post(
          { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "seen", arguments: {} } },
          session,
        )
      ).json()) as { result: { content: { text: string }[] } };
      const methods = (JSON.parse(seen.result.content[0]!.text) as Obj[]).map((m) => m.method);
      expect(methods).toEqual(["initialize", "notifications/initialized"]);
      const file = join(dir, "audit.jsonl");
      await until(
        () => auditLines(file).some((l) => l.method === "tools/call" && l.decision === "deny"),
        10_000,
        "the audit line of the refused request without an id",
      );
    } finally {
      await http.stop();
    }
  });
});
