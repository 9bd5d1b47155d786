// Every request Warden sends an HTTP upstream on a client's behalf carries the W3C trace context
// of the client message it serves, not only the routed tools/call: initialize, the lists,
// resources/read|subscribe|unsubscribe, prompts/get, completion/complete, logging/setLevel,
// tasks/get|result|list|cancel, and the notifications passed on (initialized, cancelled). A real
// SDK server over Streamable HTTP records the headers and `_meta` of each request; each one's
// traceparent names a span the collector received, the span of that client message. A stdio
// upstream gets the same in `params._meta`.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { httpClient, startGateway, tempDir, until, writeGatewayFiles } from "../mcp/helpers.js";
import { type Collector, type ReceivedSpan, startCollector } from "./collector.js";
import { type RecordingUpstream, startRecordingUpstream } from "./recording-upstream.js";

const RECORDER = new URL("../mcp/fixtures/recorder-server.mjs", import.meta.url).pathname;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools: { allow: ["*"] }
  prompts: { allow: [{ name: "*" }] }
  resources: { allow: [{ uri: "t+test://**" }] }
`;

/** The client method whose span a request to the upstream belongs to. */
const SPAN_OF: Record<string, string[]> = {
  "notifications/initialized": ["notifications/initialized", "initialize"],
};

const textOf = (r: unknown) =>
  ((r as { content: { text: string }[] }).content[0]?.text ?? "") as string;

describe("trace context on every request to an HTTP upstream", () => {
  let col: Collector;
  let up: RecordingUpstream;
  let gw: Gateway;
  let c: Client;
  let spans: ReceivedSpan[];
  let stdioSaw: { method: string; params?: { _meta?: Record<string, unknown> } }[];

  beforeAll(async () => {
    col = await startCollector();
    up = await startRecordingUpstream();
    const file = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }
policy: ./policy.yaml
audit: { file: ./audit.jsonl, level: all }
telemetry:
  otlp: { endpoint: ${col.endpoint}, delay_ms: 20 }
upstreams:
  - name: t
    url: ${up.url}
  - name: r
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(RECORDER)}]
`,
      POLICY,
    );
    const g = await startGateway(file);
    gw = g.gw;
    c = await httpClient(g.url);
    await c.listTools();
    await c.listPrompts();
    await c.listResources();
    await c.readResource({ uri: "t+test://doc" });
    await c.subscribeResource({ uri: "t+test://doc" });
    await c.unsubscribeResource({ uri: "t+test://doc" });
    const prompt = await c.getPrompt({ name: "t__greet", arguments: { name: "x" } });
    expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "hi x" });
    const done = await c.complete({
      ref: { type: "ref/prompt", name: "t__greet" },
      argument: { name: "name", value: "a" },
    });
    expect(done.completion.values).toEqual(["ada", "alan"]);
    await c.setLoggingLevel("info");
    expect(textOf(await c.callTool({ name: "t__echo", arguments: { text: "hi" } }))).toBe("hi");
    const job = await c.request(
      { method: "tools/call", params: { name: "t__job", arguments: {}, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const taskId = job.task.taskId;
    await c.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema);
    expect(
      textOf(await c.request({ method: "tasks/result", params: { taskId } }, CallToolResultSchema)),
    ).toBe("done");
    await c.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    const pending = await c.request(
      {
        method: "tools/call",
        params: { name: "t__pending_job", arguments: {}, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    await c.request(
      { method: "tasks/cancel", params: { taskId: pending.task.taskId } },
      CancelTaskResultSchema,
    );
    // a call the client gives up on: notifications/cancelled goes to the upstream
    const ac = new AbortController();
    const slow = c.callTool({ name: "t__slow", arguments: {} }, undefined, { signal: ac.signal });
    await until(() => up.seen.some((s) => s.method === "tools/call" && s.name === "slow"));
    ac.abort();
    await expect(slow).rejects.toThrow();
    await until(() => up.seen.some((s) => s.method === "notifications/cancelled"));
    stdioSaw = JSON.parse(textOf(await c.callTool({ name: "r__seen", arguments: {} })));
    await c.close();
    await gw.stop();
    spans = col.spans;
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await col?.close();
  });

  const METHODS = [
    "initialize",
    "notifications/initialized",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tools/call",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
    "notifications/cancelled",
  ];

  it.each(METHODS)(
    "%s reaches the upstream with a traceparent naming its call's span",
    (method) => {
      const sent = up.seen.filter((s) => s.method === method);
      expect(sent.length, `${method} reached the upstream`).toBeGreaterThan(0);
      for (const s of sent) {
        const m = TRACEPARENT.exec(s.traceparent ?? "");
        expect(m, `${method}: traceparent ${s.traceparent}`).not.toBeNull();
        // _meta says the same as the header (MCP's own place for it)
        expect(s.meta?.traceparent).toBe(s.traceparent);
        const span = spans.find((x) => x.traceId === m![1] && x.spanId === m![2]);
        expect(span, `${method}: a span ${s.traceparent} was exported`).toBeDefined();
        expect(SPAN_OF[method] ?? [method]).toContain(span!.attributes["mcp.method.name"]);
      }
    },
  );

  it("every request of a call to several upstreams names the same span (a merged list)", () => {
    const listed = up.seen.filter((s) => s.method === "tools/list").map((s) => s.traceparent);
    const toStdio = stdioSaw.filter((m) => m.method === "tools/list");
    expect(toStdio.length).toBe(listed.length);
    expect(toStdio.map((m) => m.params?._meta?.traceparent)).toEqual(listed);
  });

  it("a stdio upstream gets the call's traceparent in params._meta", () => {
    const calls = stdioSaw.filter((m) => m.method === "initialize" || m.method === "tools/list");
    expect(calls.length).toBeGreaterThan(1);
    for (const m of calls) {
      const tp = TRACEPARENT.exec(String(m.params?._meta?.traceparent));
      expect(tp).not.toBeNull();
      expect(spans.some((s) => s.traceId === tp![1] && s.spanId === tp![2])).toBe(true);
    }
  });
});
