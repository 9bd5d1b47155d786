// telemetry.otlp.protocol: http/protobuf: the spans go to the collector as OTLP protobuf
// (application/x-protobuf), each export carrying the calls' trace ids and span names; the HTTP
// upstream's traceparent names a span the collector received. The protocol comes from the config,
// else OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL; grpc is refused, saying why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { otlpKeys } from "../../src/mcp/config-telemetry.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  httpClient,
  httpUpstream,
  startGateway,
  tempDir,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { type Collector, startCollector } from "./collector.js";

describe("telemetry.otlp over OTLP/HTTP protobuf", () => {
  let col: Collector;
  let fx: FixtureHttp;
  let gw: Gateway;
  const traceparents: string[] = [];

  beforeAll(async () => {
    col = await startCollector();
    fx = await startFixtureHttp({
      onRequest: (req) => {
        if (typeof req.headers.traceparent === "string") traceparents.push(req.headers.traceparent);
      },
    });
    const file = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }
policy: ./policy.yaml
telemetry:
  otlp: { endpoint: ${col.endpoint}, protocol: http/protobuf, delay_ms: 20 }
upstreams:
${httpUpstream("b", fx.url)}`,
    );
    const g = await startGateway(file);
    gw = g.gw;
    const c = await httpClient(g.url);
    for (const text of ["one", "two", "three"])
      await c.callTool({ name: "echo", arguments: { text } });
    await c.close();
    await gw.stop();
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await fx?.close();
    await col?.close();
  });

  it("sends protobuf, never JSON, with every call's trace id and span id in it", () => {
    expect(col.spans).toEqual([]);
    expect(col.binary.length).toBeGreaterThan(0);
    for (const b of col.binary) expect(b.contentType).toBe("application/x-protobuf");
    const all = Buffer.concat(col.binary.map((b) => b.body));
    expect(all.toString("latin1").split("tools/call echo").length - 1).toBe(3);
    // initialize and the three calls; notifications/initialized (its traceparent names a span
    // made only at audit.level all) is the one not exported
    const found = traceparents.filter((tp) => {
      const [, trace, span] = tp.split("-");
      return all.includes(Buffer.from(trace!, "hex")) && all.includes(Buffer.from(span!, "hex"));
    });
    expect(found.length).toBe(4);
    expect(traceparents.length).toBe(5);
  });
});

describe("telemetry.otlp.protocol in the config and the environment", () => {
  const base = (otlp: string) =>
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\ntelemetry:\n  otlp: ${otlp}\nupstreams:\n  - name: a\n    url: http://127.0.0.1:9/mcp\n`;

  it("takes http/json (default) or http/protobuf, and refuses anything else, located", () => {
    const json = parseConfig(base("{ endpoint: http://c:4318 }"), "/w.yaml");
    expect(json.ok && json.config.otlp?.protocol).toBe("http/json");
    const proto = parseConfig(
      base("{ endpoint: http://c:4318, protocol: http/protobuf }"),
      "/w.yaml",
    );
    expect(proto.ok && proto.config.otlp?.protocol).toBe("http/protobuf");
    const grpc = parseConfig(base("{ endpoint: http://c:4318, protocol: grpc }"), "/w.yaml");
    expect(grpc.ok).toBe(false);
    if (!grpc.ok) expect(grpc.errors[0]).toMatchObject({ key: "telemetry.otlp.protocol", line: 4 });
  });

  it("reads OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL when the config has none; grpc there is refused", () => {
    const issues: string[] = [];
    const c = {
      obj: (v: unknown) =>
        typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined,
      str: (o: Record<string, unknown>, k: string) =>
        typeof o[k] === "string" ? (o[k] as string) : undefined,
      strMap: () => ({}),
      int: (_o: unknown, _k: string, d: number) => d,
      add: (_p: unknown, m: string) => void issues.push(m),
    };
    const root = (otlp: object) => ({
      telemetry: { otlp: { endpoint: "http://c:4318", ...otlp } },
    });
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" } as NodeJS.ProcessEnv;
    expect(otlpKeys(c, root({}), env)?.protocol).toBe("http/protobuf");
    expect(otlpKeys(c, root({ protocol: "http/json" }), env)?.protocol).toBe("http/json");
    const traces = { ...env, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" };
    expect(otlpKeys(c, root({}), traces)?.protocol).toBe("http/json");
    expect(issues).toEqual([]);
    otlpKeys(c, root({}), { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    expect(issues[0]).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL is "grpc".*http\/protobuf/);
  });
});
