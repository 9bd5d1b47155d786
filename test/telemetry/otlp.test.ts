// OpenTelemetry spans of a real gateway (in-process, real SDK client over HTTP, a real SDK MCP
// server over stdio and one over Streamable HTTP), received by a local OTLP/HTTP collector and
// counted against the JSONL audit: one span per judged call, the decision, rule, caller and
// upstream as attributes, a denial's span an error; the HTTP upstream gets a traceparent naming
// the call's span, a child of the client's traceparent.
import type { IncomingHttpHeaders } from "node:http";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import { httpClient, startGateway, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import {
  auditLines,
  type Collector,
  type ReceivedSpan,
  startCollector,
  telemetryConfig,
} from "./collector.js";

const CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN = "b7ad6b7169203331";
const CLIENT_PARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

describe("telemetry.otlp: a span per judged call", () => {
  let dir: string;
  let col: Collector;
  let fx: FixtureHttp;
  let gw: Gateway;
  let client: Client;
  const upstreamSaw: IncomingHttpHeaders[] = [];
  let lines: AuditRecord[];
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    col = await startCollector();
    fx = await startFixtureHttp({ onRequest: (req) => upstreamSaw.push(req.headers) });
    dir = tempDir();
    const file = writeGatewayFiles(dir, telemetryConfig(col.endpoint, fx.url));
    const g = await startGateway(file);
    gw = g.gw;
    client = await httpClient(g.url, undefined, {
      traceparent: CLIENT_PARENT,
      tracestate: "vendor=abc",
    });
    await client.listTools();
    await client.callTool({ name: "b__echo", arguments: { text: "hi" } });
    await client.callTool({ name: "a__echo", arguments: { text: "there" } });
    await expect(client.callTool({ name: "a__stats", arguments: {} })).rejects.toThrow(/denied/i);
    await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toThrow();
    await client.close();
    // SIGTERM's path: the gateway stops, and the spans still queued are flushed
    await gw.stop();
    lines = auditLines(dir);
    spans = col.spans;
  });
  afterAll(async () => {
    await gw?.stop();
    await fx?.close();
    await col?.close();
  });

  it("sends one span per audit line, an outcome line ending the span its decision line began", () => {
    const began = new Set(lines.filter((l) => l.phase === "decision").map((l) => l.call_id));
    const expected = lines.filter((l) => !(l.phase === "outcome" && began.has(l.call_id)));
    expect(lines.length).toBeGreaterThan(8);
    expect(spans).toHaveLength(expected.length);
    const ids = (xs: { call_id: string }[]) => [...new Set(xs.map((x) => x.call_id))].sort();
    expect(ids(spans.map((s) => ({ call_id: s.attributes["warden.call_id"] as string })))).toEqual(
      ids(lines),
    );
    expect(spans.every((s) => s.resource["service.name"] === "warden-gateway")).toBe(true);
  });

  it("says the decision, rule, code, caller, upstream, method, tool and session; a denial is an error", () => {
    const denied = lines.find((l) => l.name === "a__stats" && l.decision === "deny")!;
    expect(denied.rule).toMatch(/policy\.yaml:\d+/);
    const span = spans.find((s) => s.attributes["warden.call_id"] === denied.call_id)!;
    expect(span.status.code).toBe(2); // ERROR
    expect(span.status.message).toContain(denied.rule!);
    expect(span.attributes).toMatchObject({
      "warden.decision": "deny",
      "warden.verdict": "block",
      "warden.rule": denied.rule,
      "warden.rule_id": denied.rule_id,
      "warden.caller": denied.caller,
      "warden.upstream": "a",
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "a__stats",
      "mcp.session.id": denied.session,
    });
    const refused = lines.find((l) => l.name === "nope")!;
    const refusedSpan = spans.find((s) => s.attributes["warden.call_id"] === refused.call_id)!;
    expect(refused.code).toBe("unknown_target");
    expect(refusedSpan.attributes["warden.code"]).toBe("unknown_target");
    expect(refusedSpan.status.code).toBe(2);
    const ok = lines.find((l) => l.name === "a__echo" && l.phase === "outcome")!;
    const okSpan = spans.find((s) => s.attributes["warden.call_id"] === ok.call_id)!;
    expect(okSpan.status.code ?? 0).toBe(0);
    expect(okSpan.name).toBe("tools/call a__echo");
    expect(okSpan.attributes).toMatchObject({
      "warden.decision": "allow",
      "warden.outcome": "answered",
      "warden.upstream": "a",
      "warden.caller": ok.caller,
    });
    expect(okSpan.attributes["warden.duration_ms"]).toBeCloseTo(ok.duration_ms, 3);
  });

  it("makes the client's traceparent the parent of the gateway's spans", () => {
    const calls = spans.filter((s) => s.attributes["mcp.method.name"] === "tools/call");
    expect(calls.length).toBe(4);
    for (const s of calls) {
      expect(s.traceId).toBe(CLIENT_TRACE);
      expect(s.parentSpanId).toBe(CLIENT_SPAN);
    }
  });

  it("sends the HTTP upstream a traceparent naming the call's span, never the client's own", () => {
    const call = lines.find((l) => l.name === "b__echo" && l.phase === "outcome")!;
    const span = spans.find((s) => s.attributes["warden.call_id"] === call.call_id)!;
    const sent = upstreamSaw.map((h) => h.traceparent).filter((t) => t !== undefined);
    expect(sent).toContain(`00-${CLIENT_TRACE}-${span.spanId}-01`);
    expect(sent).not.toContain(CLIENT_PARENT);
    const withSpan = upstreamSaw.find(
      (h) => h.traceparent === `00-${CLIENT_TRACE}-${span.spanId}-01`,
    )!;
    expect(withSpan.tracestate).toBe("vendor=abc");
  });
});
