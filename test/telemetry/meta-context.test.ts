// A client's W3C trace context in `params._meta` (MCP's place for it, SEP-414), on the stdio
// front (`warden gateway` as a child process, a real SDK client) and on the HTTP front (where
// `_meta` wins over the header): a valid one makes the call's span its child; a hostile one (not
// a traceparent, all-zero ids, upper case, version ff, extra fields, huge, not a string) is
// ignored and never reaches the upstream. The stdio upstream (a recorder) gets the gateway's own
// traceparent in `params._meta`, naming the exported span, never the client's text.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  httpClient,
  startGateway,
  stdioGatewayClient,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { type Collector, type ReceivedSpan, startCollector } from "./collector.js";

const RECORDER = new URL("../mcp/fixtures/recorder-server.mjs", import.meta.url).pathname;
const CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN = "b7ad6b7169203331";
const HEADER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const GATEWAY_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;
const HOSTILE: unknown[] = [
  `00-${"0".repeat(32)}-${"0".repeat(16)}-01`,
  `00-${"A".repeat(32)}-${"B".repeat(16)}-01`,
  `ff-${"a".repeat(32)}-${"b".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-01-extra`,
  `00-${"g".repeat(32)}-${"b".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-01 , 00-${"c".repeat(32)}-${"d".repeat(16)}-01`,
  `${`00-${"a".repeat(32)}-${"b".repeat(16)}-01`}${" ".repeat(300)}`,
  "x".repeat(100_000),
  "<script>alert(1)</script>",
  12345,
  { traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` },
  [`00-${"a".repeat(32)}-${"b".repeat(16)}-01`],
  null,
];

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools: { allow: ["*"] }
`;
const config = (endpoint: string, listen: string) => `${listen}policy: ./policy.yaml
telemetry:
  otlp: { endpoint: ${endpoint}, delay_ms: 20 }
upstreams:
  - name: r
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(RECORDER)}]
`;

type Seen = {
  method: string;
  params?: { arguments?: { i?: number }; _meta?: Record<string, unknown> };
};
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content[0]!.text;

/** Call tool `work` with `_meta`; i numbers the call (its arguments). */
const work = (c: Client, i: number, _meta: Record<string, unknown>) =>
  c.callTool({ name: "work", arguments: { i }, _meta });

/** The upstream's view of call i, and the span its traceparent names. */
function callI(seen: Seen[], spans: ReceivedSpan[], i: number) {
  const up = seen.find((m) => m.method === "tools/call" && m.params?.arguments?.i === i)!;
  const tp = GATEWAY_PARENT.exec(String(up.params?._meta?.traceparent));
  expect(tp, `call ${i}: ${String(up.params?._meta?.traceparent).slice(0, 80)}`).not.toBeNull();
  const span = spans.find((s) => s.traceId === tp![1] && s.spanId === tp![2]);
  expect(span, `call ${i}: its span was exported`).toBeDefined();
  return { meta: up.params!._meta!, span: span! };
}

describe("trace context in _meta on the stdio front", () => {
  let col: Collector;
  let seen: Seen[];
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    col = await startCollector();
    const file = writeGatewayFiles(tempDir(), config(col.endpoint, ""), POLICY);
    const { client } = await stdioGatewayClient(file);
    await work(client, 0, {
      traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
      tracestate: "vendor=abc,=bad",
      other: "kept",
    });
    for (const [k, traceparent] of HOSTILE.entries())
      await work(client, k + 1, { traceparent, tracestate: "x".repeat(9000) });
    seen = JSON.parse(textOf(await client.callTool({ name: "seen", arguments: {} })));
    await client.close(); // the gateway stops and flushes its spans
    await until(
      () => col.spans.filter((s) => s.name === "tools/call work").length > HOSTILE.length,
    );
    spans = col.spans;
  }, 60_000);
  afterAll(() => col?.close());

  it("a valid _meta.traceparent is the call's parent, and the upstream gets the call's span", () => {
    const { meta, span } = callI(seen, spans, 0);
    expect(span.traceId).toBe(CLIENT_TRACE);
    expect(span.parentSpanId).toBe(CLIENT_SPAN);
    expect(meta.traceparent).not.toContain(CLIENT_SPAN);
    expect(meta.tracestate).toBe("vendor=abc");
    expect(meta.other).toBe("kept");
  });

  it.each(HOSTILE.map((h, k) => [k + 1, String(JSON.stringify(h)).slice(0, 60)]))(
    "hostile _meta.traceparent %i (%s) is ignored and never sent on",
    (i) => {
      const { meta, span } = callI(seen, spans, i as number);
      expect(span.parentSpanId).toBeUndefined();
      expect(meta.traceparent).not.toBe(HOSTILE[(i as number) - 1]);
      expect(meta.tracestate).toBeUndefined();
    },
  );
});

describe("trace context in _meta on the HTTP front: _meta wins over the header", () => {
  let col: Collector;
  let gw: Gateway;
  let seen: Seen[];
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    col = await startCollector();
    const file = writeGatewayFiles(
      tempDir(),
      config(col.endpoint, "listen: { http: { port: 0 } }\n"),
      POLICY,
    );
    const g = await startGateway(file);
    gw = g.gw;
    const c = await httpClient(g.url, undefined, {
      traceparent: `00-${HEADER_TRACE}-00f067aa0ba902b7-01`,
    });
    await work(c, 0, { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` });
    await work(c, 1, { traceparent: "<script>", tracestate: "a=b" });
    await work(c, 2, {});
    seen = JSON.parse(textOf(await c.callTool({ name: "seen", arguments: {} })));
    await c.close();
    await gw.stop();
    spans = col.spans;
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await col?.close();
  });

  it("a valid _meta.traceparent wins over the traceparent header", () => {
    const { span } = callI(seen, spans, 0);
    expect(span.traceId).toBe(CLIENT_TRACE);
    expect(span.parentSpanId).toBe(CLIENT_SPAN);
  });

  it("a hostile _meta.traceparent is ignored: the header's context is the parent", () => {
    for (const i of [1, 2]) {
      const { meta, span } = callI(seen, spans, i);
      expect(span.traceId).toBe(HEADER_TRACE);
      expect(span.parentSpanId).toBe("00f067aa0ba902b7");
      expect(meta.traceparent).not.toBe("<script>");
      expect(meta.tracestate).toBeUndefined();
    }
  });
});
