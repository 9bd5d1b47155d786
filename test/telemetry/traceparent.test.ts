// Attacker tests of the W3C trace context the gateway reads from its clients: a malformed or
// hostile traceparent (all-zero ids, upper case, version ff, extra fields on version 00, huge,
// not hex) or tracestate is ignored, never an error and never sent on: the call is served, its
// span starts a trace of its own, and the HTTP upstream gets the gateway's traceparent, never the
// client's text.
import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import { httpClient, startGateway, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import { type Collector, type ReceivedSpan, startCollector, telemetryConfig } from "./collector.js";

const HOSTILE = [
  `00-${"0".repeat(32)}-${"0".repeat(16)}-01`,
  `00-${"A".repeat(32)}-${"B".repeat(16)}-01`,
  `ff-${"a".repeat(32)}-${"b".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-01-extra`,
  `00-${"a".repeat(31)}-${"b".repeat(16)}-01`,
  `00-${"g".repeat(32)}-${"b".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-01 , 00-${"c".repeat(32)}-${"d".repeat(16)}-01`,
  "x".repeat(8000),
  "<script>alert(1)</script>",
];
const GATEWAY_PARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

describe("a client's hostile traceparent", () => {
  let col: Collector;
  let fx: FixtureHttp;
  let gw: Gateway;
  const upstreamSaw: IncomingHttpHeaders[] = [];
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    col = await startCollector();
    fx = await startFixtureHttp({ onRequest: (req) => upstreamSaw.push(req.headers) });
    const file = writeGatewayFiles(tempDir(), telemetryConfig(col.endpoint, fx.url));
    const g = await startGateway(file);
    gw = g.gw;
    for (const traceparent of HOSTILE) {
      const client = await httpClient(g.url, undefined, {
        traceparent,
        tracestate: `=bad,${"k".repeat(300)}=v,ok=1`,
      });
      const r = await client.callTool({ name: "b__echo", arguments: { text: "hi" } });
      expect(r.content).toEqual([{ type: "text", text: "hi" }]);
      await client.close();
    }
    await gw.stop();
    spans = col.spans;
  });
  afterAll(async () => {
    await gw?.stop();
    await fx?.close();
    await col?.close();
  });

  it("is ignored: every call is served and its span starts a trace of its own", () => {
    const calls = spans.filter((s) => s.attributes["mcp.method.name"] === "tools/call");
    expect(calls).toHaveLength(HOSTILE.length);
    for (const s of spans) expect(s.parentSpanId).toBeUndefined();
    expect(new Set(calls.map((s) => s.traceId)).size).toBe(HOSTILE.length);
  });

  it("is never sent on: the upstream gets the gateway's own traceparent for each call", () => {
    const sent = upstreamSaw.filter((h) => h.traceparent !== undefined);
    // per client: initialize, notifications/initialized, tools/call
    expect(sent.length).toBe(3 * HOSTILE.length);
    for (const h of sent) {
      expect(h.traceparent).toMatch(GATEWAY_PARENT);
      expect(h.tracestate).toBeUndefined();
    }
    const ids = new Set(spans.map((s) => `${s.traceId}-${s.spanId}`));
    for (const h of sent) expect(ids.has(String(h.traceparent).slice(3, 52))).toBe(true);
  });
});
