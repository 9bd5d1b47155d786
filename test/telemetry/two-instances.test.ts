// Two real `warden gateway` processes (one config, one real redis-server, state.sessions) send
// their spans to one local OTLP endpoint and forward to one shared HTTP upstream (the SDK
// fixture server). Clients send their own W3C traceparent: one client on each instance, and one
// whose requests alternate between the instances (its session is held by one, the other
// forwards to it). Every tools/call reaches the upstream with a traceparent in the client's
// trace whose parent is the span of the instance that judged the call, and the spans are
// counted per instance by their resource's service.instance.id (a random UUID, or the one
// OTEL_RESOURCE_ATTRIBUTES gives).
import { randomUUID } from "node:crypto";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  httpUpstream,
  makeClient,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { type Instance, roundRobin, startInstance } from "../state/instances.js";
import { RedisServer } from "../state/redis-server.js";
import { type Collector, type ReceivedSpan, startCollector } from "./collector.js";

const TOKEN = `alice-${randomUUID()}`;
const hex = (n: number) => randomUUID().replace(/-/g, "").repeat(2).slice(0, n);
/** The client traces: one per client, each with a span id of the client's own. */
const TRACE = { one: hex(32), two: hex(32), both: hex(32) } as const;
const parentOf = (trace: string) => `00-${trace}-${hex(16)}-01`;
const INSTANCE_TWO = `gw-two-${randomUUID()}`;

let redis: RedisServer;
let col: Collector;
let fx: FixtureHttp;
let one: Instance;
let two: Instance;
/** The traceparent of each request the shared upstream received. */
const upstreamSaw: string[] = [];
let spans: ReceivedSpan[] = [];

async function callsThrough(
  urls: string[],
  trace: string,
  n: number,
  start = 0,
): Promise<string | undefined> {
  const c = makeClient();
  const t = new StreamableHTTPClientTransport(new URL(urls[0]!), {
    requestInit: { headers: { authorization: `Bearer ${TOKEN}`, traceparent: parentOf(trace) } },
    fetch: roundRobin(urls, start),
  });
  await c.connect(t);
  for (let i = 0; i < n; i++) {
    const r = (await c.callTool({ name: "b__echo", arguments: { text: `${trace}-${i}` } })) as {
      content: { text: string }[];
    };
    expect(r.content[0]!.text).toBe(`${trace}-${i}`);
  }
  const sid = t.sessionId;
  await c.close();
  return sid;
}

beforeAll(async () => {
  [redis, col, fx] = await Promise.all([
    RedisServer.start(),
    startCollector(),
    startFixtureHttp({
      onRequest: (req) => {
        if (typeof req.headers.traceparent === "string") upstreamSaw.push(req.headers.traceparent);
      },
    }),
  ]);
  const dir = tempDir();
  const file = writeGatewayFiles(
    dir,
    `listen: { http: { host: 127.0.0.1, port: 0, path: /mcp } }
auth: { tokens: [{ name: alice, env: T_ALICE }] }
policy: ./policy.yaml
state:
  dir: ${dir}/state
  redis: { url: "${redis.url}" }
  sessions: { secret_env: T_SECRET }
telemetry:
  otlp: { endpoint: ${col.endpoint}, delay_ms: 20 }
upstreams:
${stdioUpstream("a")}${httpUpstream("b", fx.url)}`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    T_ALICE: TOKEN,
    T_SECRET: randomUUID() + randomUUID(),
  };
  delete env.OTEL_RESOURCE_ATTRIBUTES;
  [one, two] = await Promise.all([
    startInstance(file, env),
    startInstance(file, {
      ...env,
      OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${INSTANCE_TWO},deployment.environment=test`,
    }),
  ]);
  await callsThrough([one.url], TRACE.one, 3);
  await callsThrough([two.url], TRACE.two, 2);
  // initialize on one: one holds the session and judges every call; two forwards half of them
  await callsThrough([one.url, two.url], TRACE.both, 4);
  const calls = () => col.spans.filter((s) => s.attributes["mcp.method.name"] === "tools/call");
  await until(() => calls().length >= 9, 15_000, "the spans of 9 calls");
  spans = calls();
}, 60_000);

afterAll(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
  await Promise.all([redis?.close(), col?.close(), fx?.close()]);
});

describe("two gateway instances, one OTLP endpoint, one shared HTTP upstream", () => {
  it("the spans are counted per instance by service.instance.id", () => {
    const byInstance = new Map<string, ReceivedSpan[]>();
    for (const s of spans) {
      const id = String(s.resource["service.instance.id"]);
      byInstance.set(id, [...(byInstance.get(id) ?? []), s]);
    }
    expect(byInstance.size).toBe(2);
    // two's id is the one OTEL_RESOURCE_ATTRIBUTES gave (its other attributes kept); one's is a UUID
    const twos = byInstance.get(INSTANCE_TWO)!;
    const ones = [...byInstance.entries()].find(([k]) => k !== INSTANCE_TWO)!;
    expect(ones[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(twos[0]!.resource["deployment.environment"]).toBe("test");
    for (const s of spans) expect(s.resource["service.name"]).toBe("warden-gateway");
    // one judged its own client's 3 calls and all 4 of the alternating session it holds
    const count = (list: ReceivedSpan[], trace: string) =>
      list.filter((s) => s.traceId === trace).length;
    expect([
      count(ones[1], TRACE.one),
      count(ones[1], TRACE.both),
      count(ones[1], TRACE.two),
    ]).toEqual([3, 4, 0]);
    expect([count(twos, TRACE.two), count(twos, TRACE.both), count(twos, TRACE.one)]).toEqual([
      2, 0, 0,
    ]);
  });

  it("every call reaches the upstream with the client's trace and the judging instance's span as parent", () => {
    for (const s of spans) {
      expect(s.kind).toBe(2); // SERVER
      expect(upstreamSaw).toContain(`00-${s.traceId}-${s.spanId}-01`);
    }
    // the calls through both instances: each of the clients' traces reached the upstream
    for (const trace of Object.values(TRACE))
      expect(upstreamSaw.some((p) => p.startsWith(`00-${trace}-`))).toBe(true);
    // and never a client's own span id: the gateway's span sits between client and upstream
    const clientSpans = new Set(spans.map((s) => s.parentSpanId));
    for (const p of upstreamSaw) expect(clientSpans.has(p.slice(36, 52))).toBe(false);
  });
});
