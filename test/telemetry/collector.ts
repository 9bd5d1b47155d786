/**
 * A local OTLP/HTTP collector for the tests: a node:http server on a free port receiving the
 * exporter's POST /v1/traces (OTLP/JSON, decoded with JSON.parse), keeping each span with its
 * attributes flattened. `mode` makes it misbehave: hang (never answers), garbage (200 with a
 * body that is not OTLP), error (HTTP 500 with HTML).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { AuditRecord } from "../../src/audit/record.js";
import { httpUpstream, stdioUpstream } from "../mcp/helpers.js";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  /** The resource's attributes (service.name, ...). */
  resource: Record<string, unknown>;
}

export interface Collector {
  /** The base endpoint (http://127.0.0.1:<port>), as telemetry.otlp.endpoint takes it. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests received (answered or not). */
  requests: number;
  /** The bodies of the export requests that were not JSON (OTLP protobuf), with their type. */
  binary: { contentType: string; body: Buffer }[];
  close(): Promise<void>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
};
type OtlpAttr = { key: string; value: OtlpValue };

const attrValue = (v: OtlpValue): unknown =>
  v.stringValue ??
  (v.intValue === undefined ? undefined : Number(v.intValue)) ??
  v.doubleValue ??
  v.boolValue ??
  v.arrayValue?.values?.map(attrValue);

const flat = (attrs: OtlpAttr[] | undefined): Record<string, unknown> =>
  Object.fromEntries((attrs ?? []).map((a) => [a.key, attrValue(a.value)]));

/** The spans of one OTLP/JSON ExportTraceServiceRequest. */
function spansOf(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (body as { resourceSpans?: unknown[] }).resourceSpans ?? []) {
    const r = rs as { resource?: { attributes?: OtlpAttr[] }; scopeSpans?: unknown[] };
    const resource = flat(r.resource?.attributes);
    for (const ss of r.scopeSpans ?? [])
      for (const s of (ss as { spans?: Record<string, unknown>[] }).spans ?? [])
        out.push({
          traceId: s.traceId as string,
          spanId: s.spanId as string,
          ...(typeof s.parentSpanId === "string" && s.parentSpanId !== ""
            ? { parentSpanId: s.parentSpanId }
            : {}),
          name: s.name as string,
          kind: s.kind as number,
          status: (s.status as ReceivedSpan["status"]) ?? {},
          attributes: flat(s.attributes as OtlpAttr[]),
          resource,
        });
  }
  return out;
}

export async function startCollector(
  mode: "ok" | "hang" | "garbage" | "error" = "ok",
): Promise<Collector> {
  const held: IncomingMessage[] = [];
  const c: Collector = {
    endpoint: "",
    spans: [],
    requests: 0,
    binary: [],
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    c.requests++;
    if (mode === "hang") {
      held.push(req);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      if (mode === "error")
        return void res.writeHead(500, { "content-type": "text/html" }).end("<h1>oops</h1>");
      if (mode === "garbage")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"partialSuccess": [1, 2, {"x": ');
      const type = String(req.headers["content-type"]);
      if (req.url === "/v1/traces" && req.method === "POST" && type.includes("json"))
        c.spans.push(...spansOf(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
      else if (req.url === "/v1/traces" && req.method === "POST")
        c.binary.push({ contentType: type, body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  c.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  c.close = () =>
    new Promise<void>((r) => {
      for (const req of held) req.socket.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  return c;
}

/** A gateway with audit level all and telemetry to `endpoint`; upstreams a (stdio), b (HTTP). */
export function telemetryConfig(endpoint: string, upstreamUrl: string, otlp = ""): string {
  return `listen: { http: { port: 0 } }
policy: ./policy.yaml
audit: { file: ./audit.jsonl, level: all }
telemetry:
  metrics: true
  otlp: { endpoint: ${endpoint}, delay_ms: 20${otlp} }
upstreams:
${stdioUpstream("a")}${httpUpstream("b", upstreamUrl)}`;
}

export const auditLines = (dir: string): AuditRecord[] =>
  readFileSync(join(dir, "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);
