// telemetry.otlp without an audit section: the spans are made from the audit records built in
// memory, no audit file is written, and the calls are served and counted as with one.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  httpClient,
  httpUpstream,
  startGateway,
  stdioUpstream,
  tempDir,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { type Collector, type ReceivedSpan, startCollector } from "./collector.js";

describe("telemetry.otlp without an audit section", () => {
  let col: Collector;
  let fx: FixtureHttp;
  let gw: Gateway;
  let dir: string;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    col = await startCollector();
    fx = await startFixtureHttp();
    dir = tempDir();
    const file = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }
policy: ./policy.yaml
state: { dir: ./state }
telemetry:
  otlp: { endpoint: ${col.endpoint}, delay_ms: 20 }
upstreams:
${stdioUpstream("a")}${httpUpstream("b", fx.url)}`,
    );
    const g = await startGateway(file);
    gw = g.gw;
    const c = await httpClient(g.url);
    await c.listTools();
    await c.callTool({ name: "b__echo", arguments: { text: "hi" } });
    await c.callTool({ name: "a__echo", arguments: { text: "there" } });
    await expect(c.callTool({ name: "a__stats", arguments: {} })).rejects.toThrow(/denied/i);
    await c.close();
    await gw.stop();
    spans = col.spans;
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await fx?.close();
    await col?.close();
  });

  it("exports a span per judged call, with the decision and the rule", () => {
    const calls = spans.filter((s) => s.attributes["mcp.method.name"] === "tools/call");
    expect(calls.map((s) => s.name).sort()).toEqual([
      "tools/call a__echo",
      "tools/call a__stats",
      "tools/call b__echo",
    ]);
    const denied = calls.find((s) => s.name === "tools/call a__stats")!;
    expect(denied.attributes["warden.decision"]).toBe("deny");
    expect(denied.status.code).toBe(2);
    const echo = calls.find((s) => s.name === "tools/call b__echo")!;
    expect(echo.attributes).toMatchObject({ "warden.outcome": "answered", "warden.upstream": "b" });
    expect(spans.some((s) => s.attributes["mcp.method.name"] === "tools/list")).toBe(true);
  });

  it("writes no audit file, and puts no arguments in a span", () => {
    expect(gw.config.audit).toBeUndefined();
    const state = join(dir, "state");
    expect(existsSync(state) ? readdirSync(state).filter((f) => f.includes("audit")) : []).toEqual(
      [],
    );
    for (const s of spans) expect(Object.keys(s.attributes).join()).not.toMatch(/argument/);
  });
});
