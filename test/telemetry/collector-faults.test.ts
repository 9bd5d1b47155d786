// Attacker tests of telemetry.otlp: a collector that is down, one that never answers, and ones
// that answer garbage or HTTP 500. The gateway serves every call as it would without telemetry,
// counts the spans it could not deliver in /metrics (warden_telemetry_spans_dropped_total), its
// queue stays bounded (max_queue), and it stops (SIGTERM's path) without waiting on the collector
// past timeout_ms.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import { httpClient, startGateway, tempDir, until, writeGatewayFiles } from "../mcp/helpers.js";
import { type Collector, startCollector, telemetryConfig } from "./collector.js";

/** The dropped spans /metrics reports, per reason. */
async function dropped(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^warden_telemetry_spans_dropped_total\{reason="(\w+)"\} (\d+)/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}
const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

describe("telemetry.otlp when the collector misbehaves", () => {
  let gw: Gateway | undefined;
  let client: Client | undefined;
  let fx: FixtureHttp | undefined;
  let col: Collector | undefined;
  afterEach(async () => {
    await client?.close().catch(() => {});
    await gw?.stop();
    await fx?.close();
    await col?.close();
    gw = client = fx = col = undefined;
  });

  async function serve(endpoint: string, otlp: string) {
    fx = await startFixtureHttp();
    const file = writeGatewayFiles(tempDir(), telemetryConfig(endpoint, fx.url, otlp));
    const g = await startGateway(file);
    gw = g.gw;
    client = await httpClient(g.url);
    const base = g.url.replace(/\/mcp$/, "");
    // the calls are served, answers intact, whatever the collector does
    for (let i = 0; i < 12; i++) {
      const r = await client.callTool({ name: "a__echo", arguments: { text: `n${i}` } });
      expect(r.content).toEqual([{ type: "text", text: `n${i}` }]);
    }
    await expect(client.callTool({ name: "a__stats", arguments: {} })).rejects.toThrow(/denied/i);
    return base;
  }

  it("collector down: calls are served, the spans it could not take are counted as dropped", async () => {
    const gone = await startCollector();
    const endpoint = gone.endpoint;
    await gone.close(); // nothing listens there now
    const base = await serve(endpoint, ", timeout_ms: 300, max_queue: 4, max_batch: 2");
    await until(async () => total(await dropped(base)) > 0, 10_000, "drops counted");
    expect((await dropped(base)).export_failed).toBeGreaterThan(0);
    expect(gw!.sessions.size).toBe(1);
    await gw!.stop(); // flushes what it can, bounded by timeout_ms
  });

  it("collector that never answers: calls are served, the export gives up, the gateway stops", async () => {
    col = await startCollector("hang");
    // the first export hangs for timeout_ms while the calls make more spans than max_queue
    const base = await serve(col.endpoint, ", timeout_ms: 2000, max_queue: 4, max_batch: 2");
    await until(
      async () => {
        const d = await dropped(base);
        return (d.export_failed ?? 0) + (d.export_timeout ?? 0) > 0;
      },
      10_000,
      "a hung export given up",
    );
    expect(col.requests).toBeGreaterThan(0);
    // a bounded queue: past max_queue, spans are refused at once and counted, not kept
    expect((await dropped(base)).queue_full).toBeGreaterThan(0);
    await gw!.stop();
  });

  it("collector answering garbage or HTTP 500: calls are served, no crash, failures counted", async () => {
    col = await startCollector("error");
    const base = await serve(col.endpoint, ", timeout_ms: 300");
    await until(async () => (await dropped(base)).export_failed! > 0, 10_000, "a refused export");
    await client!.close();
    await gw!.stop();
    await fx!.close();
    await col.close();
    col = await startCollector("garbage");
    const base2 = await serve(col.endpoint, ", timeout_ms: 300");
    await until(async () => col!.requests > 0, 10_000, "an export");
    // a 200 whose body is not OTLP: counted one way or the other, never thrown
    const r = await client!.callTool({ name: "a__echo", arguments: { text: "still" } });
    expect(r.content).toEqual([{ type: "text", text: "still" }]);
    await dropped(base2);
  });
});
