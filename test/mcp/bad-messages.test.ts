// One bad message never takes the gateway down (issue 18, 2b): a client's garbage answer to
// roots/list, JSON nested 20,000 deep from either side (over stdio, and towards and from a
// Streamable HTTP upstream), answers whose result is not an object or not the shape MCP gives
// it. Each costs its sender an error; the gateway stays up and serves the next call.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stdioUpstream, tempDir, writeGatewayFiles } from "./helpers.js";
import { HOSTILE, hostileUpstream, RawGateway } from "./raw-gateway.js";

const ALLOW_ALL = `version: "1.0"
storage:
  allow:
    - uri: "file:///workspace/**"
      access: [read]
mcp:
  transport: { stdio: true, http: true }
  tools: { allow: ["*"], deny: ["secret", "*__secret"] }
`;
const nested = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

describe("garbage answers to roots/list", () => {
  let gw: RawGateway;
  beforeAll(async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a")}`,
      ALLOW_ALL,
    );
    gw = new RawGateway(cfg);
    await gw.initialize({ roots: {} });
  });
  afterAll(() => gw?.close());

  /** Call list_roots and answer the gateway's roots/list with `answer` (raw text). */
  async function rootsWith(id: number, answer: (rid: unknown) => string) {
    const seen = gw.messages.length;
    gw.send({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "list_roots" } });
    let req: { id?: unknown } | undefined;
    await gw.until(
      () => (req = gw.messages.slice(seen).find((m) => m.method === "roots/list")) !== undefined,
      "roots/list from the gateway",
    );
    gw.write(`${answer(req!.id)}\n`);
    return gw.answer(id);
  }

  it("refuses roots: [null] and result: null, and stays up", async () => {
    for (const [i, body] of ['{"roots":[null]}', "null", '{"roots":[{"uri":7}]}', "[]"].entries()) {
      const a = await rootsWith(
        10 + i,
        (rid) => `{"jsonrpc":"2.0","id":${JSON.stringify(rid)},"result":${body}}`,
      );
      // the upstream got an error instead of the roots, so its tool call failed
      expect(JSON.stringify(a)).toMatch(/not valid MCP|invalid answer|must be an object/);
    }
    expect(gw.stderr).toMatch(
      /answered roots\/list with an invalid result \(roots\[0\] must be an object\); refused/,
    );
    expect(gw.exit).toBeUndefined();
    const ok = await rootsWith(20, (rid) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id: rid,
        result: { roots: [{ uri: "file:///workspace/p" }] },
      }),
    );
    expect(JSON.stringify(ok)).toContain("file:///workspace/p");
  });
});

describe("deep nesting over stdio, both sides", () => {
  let gw: RawGateway;
  beforeAll(async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n${hostileUpstream("h")}`,
      ALLOW_ALL,
    );
    gw = new RawGateway(cfg);
    await gw.initialize();
  });
  afterAll(() => gw?.close());

  it("refuses a client request nested 20,000 deep with -32600 naming the limit", async () => {
    gw.write(
      `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(20_000)}}}}\n`,
    );
    const a = await gw.answer(5);
    expect(a.error).toMatchObject({ code: -32600 });
    expect(String((a.error as { message: string }).message)).toMatch(
      /deeper than 128 levels \(limits\.json_depth/,
    );
    // 128 levels pass (the message object is one of them)
    gw.write(
      `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(124)}}}}\n`,
    );
    expect((await gw.answer(6)).result).toBeDefined();
    gw.write(`{"jsonrpc":"2.0","method":"notifications/x","params":{"x":${nested(20_000)}}}\n`);
    const e = await gw.call(7, "echo", { text: "still up" });
    expect(e.result).toEqual({ content: [{ type: "text", text: "still up" }] });
  });

  it("drops an upstream notification nested 20,000 deep, and answers a deep answer with an error", async () => {
    expect((await gw.call(8, "deep")).result).toEqual({ content: [{ type: "text", text: "ok" }] });
    expect(gw.messages.some((m) => m.method === "notifications/message")).toBe(false);
    expect(gw.stderr).toMatch(
      /upstream "h": invalid JSON-RPC message from upstream: it nests deeper than 128 levels/,
    );
    const a = await gw.call(9, "deep_answer");
    expect(a.error).toMatchObject({
      code: -32603,
      data: { warden: "message_invalid", upstream: "h" },
    });
    const n = await gw.call(10, "null_answer");
    expect(n.error).toMatchObject({
      code: -32603,
      data: { warden: "message_invalid", upstream: "h" },
    });
    expect((await gw.call(11, "echo", { text: "up" })).result).toBeDefined();
    expect(gw.exit).toBeUndefined();
  });

  it("refuses a request whose params are not the shape MCP gives them, with -32602", async () => {
    for (const [id, params] of [
      [20, { name: 5 }],
      [21, { name: "echo", arguments: "x" }],
      [22, { name: "echo", arguments: [1] }],
    ] as const) {
      const a = await gw.request(id, "tools/call", params);
      expect(a.error).toMatchObject({ code: -32602, data: { warden: "message_invalid" } });
    }
    const r = await gw.request(23, "resources/read", { uri: null });
    expect(String((r.error as { message: string }).message)).toBe(
      'Invalid params for resources/read: "params.uri" must be a string.',
    );
    expect((await gw.call(24, "echo", { text: "up" })).result).toBeDefined();
  });

  it("refuses an upstream list whose items are not objects, naming the upstream", async () => {
    await gw.call(12, "bad_list");
    const l = await gw.request(13, "tools/list");
    expect(l.error).toMatchObject({
      code: -32603,
      data: { warden: "message_invalid", upstream: "h" },
    });
    expect(String((l.error as { message: string }).message)).toMatch(
      /tools\[0\] must be an object/,
    );
    expect((await gw.call(14, "echo", { text: "up" })).result).toBeDefined();
  });
});

describe("deep nesting towards and from a Streamable HTTP upstream", () => {
  let upstream: ChildProcess;
  let gw: RawGateway;
  beforeAll(async () => {
    upstream = spawn(process.execPath, [HOSTILE, "--http"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const url = await new Promise<string>((resolve) =>
      createInterface({ input: upstream.stdout! }).once("line", (l) =>
        resolve(JSON.parse(l).listening),
      ),
    );
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: h\n    url: ${url}\n`,
      ALLOW_ALL,
    );
    gw = new RawGateway(cfg);
    await gw.initialize();
  });
  afterAll(async () => {
    await gw?.close();
    upstream?.kill();
  });

  it("a client's deep notification is refused, not sent upstream", async () => {
    gw.write(`{"jsonrpc":"2.0","method":"notifications/x","params":{"x":${nested(20_000)}}}\n`);
    gw.write(
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(20_000)}}}}\n`,
    );
    expect((await gw.answer(1)).error).toMatchObject({ code: -32600 });
    expect((await gw.call(2, "echo", { text: "up" })).result).toEqual({
      content: [{ type: "text", text: "up" }],
    });
    expect(gw.exit).toBeUndefined();
  });

  it("a deep notification in the upstream's SSE stream is dropped; the call is answered", async () => {
    expect((await gw.call(3, "deep")).result).toEqual({ content: [{ type: "text", text: "ok" }] });
    expect(gw.messages.some((m) => m.method === "notifications/message")).toBe(false);
    expect((await gw.call(4, "echo", { text: "still up" })).result).toBeDefined();
    expect(gw.exit).toBeUndefined();
  });
});

describe("limits are configured in warden.yaml", () => {
  it("reads limits and request_timeout_ms, and says what is wrong with a bad value", async () => {
    const { parseConfig } = await import("../../src/mcp/config.js");
    const base = `policy: ./p.yaml\nupstreams:\n  - name: a\n    command: x\n`;
    const ok = parseConfig(
      `${base}    request_timeout_ms: 250\nlimits: { json_depth: 16, client_message_bytes: 65536, client_queue_bytes: 1048576 }\n`,
      "<inline>",
    );
    expect(ok.ok && ok.config.limits).toEqual({
      clientMessageBytes: 65536,
      jsonDepth: 16,
      clientQueueBytes: 1048576,
    });
    expect(ok.ok && ok.config.upstreams[0]!.requestTimeoutMs).toBe(250);
    const d = parseConfig(base, "<inline>");
    expect(d.ok && d.config.limits).toEqual({
      clientMessageBytes: 4 * 1024 * 1024,
      jsonDepth: 128,
      clientQueueBytes: 8 * 1024 * 1024,
    });
    expect(d.ok && d.config.upstreams[0]!.requestTimeoutMs).toBe(60_000);
    const bad = parseConfig(
      `${base}    request_timeout_ms: 0\nlimits: { json_depth: 1, queue: 3 }\n`,
      "<inline>",
    );
    expect(bad.ok).toBe(false);
    const msgs = bad.ok ? [] : bad.errors.map((e) => `${e.key}: ${e.message}`);
    expect(msgs).toContain(
      "upstreams[0].request_timeout_ms: upstreams[0].request_timeout_ms must be a whole number from 1 to 86400000, not 0.",
    );
    expect(msgs).toContain(
      "limits.json_depth: limits.json_depth must be a whole number from 2 to 1000, not 1.",
    );
    expect(msgs).toContain(
      'limits.queue: unknown key "queue" in limits; known keys: client_message_bytes, json_depth, client_queue_bytes.',
    );
  });

  it("the largest json_depth allowed (1000) holds a message nested at the limit and past it", async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nlimits: { json_depth: 1000 }\nupstreams:\n${hostileUpstream("h")}`,
      ALLOW_ALL,
    );
    const gw = new RawGateway(cfg);
    try {
      await gw.initialize();
      // 9,000 levels overflowed the recursive check when json_depth could be 10,000.
      gw.write(
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(9000)}}}}\n`,
      );
      const a = await gw.answer(1);
      expect(String((a.error as { message: string }).message)).toMatch(/deeper than 1000 levels/);
      gw.write(
        `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(990)}}}}\n`,
      );
      expect(await gw.answer(2)).toBeDefined();
    } finally {
      await gw.close();
    }
  });

  it("honours a smaller json_depth on stdio", async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: stdio\npolicy: ./policy.yaml\nlimits: { json_depth: 8 }\nupstreams:\n${hostileUpstream("h")}`,
      ALLOW_ALL,
    );
    const gw = new RawGateway(cfg);
    try {
      await gw.initialize();
      gw.write(
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(6)}}}}\n`,
      );
      const a = await gw.answer(1);
      expect(String((a.error as { message: string }).message)).toMatch(/deeper than 8 levels/);
    } finally {
      await gw.close();
    }
  });
});
