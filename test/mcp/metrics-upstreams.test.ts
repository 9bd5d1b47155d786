// Per-upstream metrics on /metrics, scraped over real HTTP after real calls and a real crash and
// restart of each upstream (one per session, one shared): warden_mcp_upstream_up,
// warden_mcp_upstream_restarts_total, warden_mcp_upstream_sessions; a shared upstream that gave
// up reads 0; and a registry the caller hands in serves them (one registry per process).
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, loadGatewayConfig } from "../../src/index.js";
import { httpClient, stdioUpstream, tempDir, until, writeGatewayFiles } from "./helpers.js";

/** One sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, upstream: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{upstream="${upstream}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("per-upstream metrics", () => {
  let gw: Gateway;
  let client: Client;
  let metricsUrl: string;
  const registry = new Registry();
  beforeAll(async () => {
    const dir = tempDir();
    const file = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\ntelemetry: { metrics: { path: /metrics } }\nrestart: { initial_ms: 100, max_ms: 400 }\nupstreams:\n${stdioUpstream("a")}${stdioUpstream("b")}    sessions: shared\n`,
    );
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      metricsRegistry: registry,
    });
    const base = `http://127.0.0.1:${gw.address!.port}`;
    metricsUrl = `${base}/metrics`;
    client = await httpClient(`${base}/mcp`);
  });
  afterAll(async () => {
    await client?.close().catch(() => {});
    await gw?.stop();
  });

  const scrape = async () => (await fetch(metricsUrl)).text();
  const health = (name: string) =>
    gw
      .views()
      .upstreams()
      .find((u) => u.name === name)!;

  it("says each upstream is up, used by the session, not restarted", async () => {
    await client.callTool({ name: "a__echo", arguments: { text: "hi" } });
    await client.callTool({ name: "b__echo", arguments: { text: "hi" } });
    const text = await scrape();
    for (const u of ["a", "b"]) {
      expect(sample(text, "warden_mcp_upstream_up", u)).toBe(1);
      expect(sample(text, "warden_mcp_upstream_restarts_total", u)).toBe(0);
      expect(sample(text, "warden_mcp_upstream_sessions", u)).toBe(1);
    }
    expect(text).toMatch(/# TYPE warden_mcp_upstream_restarts_total counter/);
    expect(text).toMatch(/# TYPE warden_mcp_upstream_up gauge/);
    // the caller's registry is the one served
    expect(await registry.metrics()).toMatch(/warden_mcp_upstream_up\{upstream="a"\} 1/);
  });

  it("counts a restart after each upstream crashes", async () => {
    process.kill(health("a").pids[0]!, "SIGKILL");
    await until(() => health("a").restarts === 1 && health("a").state === "up", 10_000, "a back");
    let text = await scrape();
    expect(sample(text, "warden_mcp_upstream_restarts_total", "a")).toBe(1);
    expect(sample(text, "warden_mcp_upstream_up", "a")).toBe(1);
    expect(sample(text, "warden_mcp_upstream_restarts_total", "b")).toBe(0);
    process.kill(health("b").pids[0]!, "SIGKILL");
    await until(() => health("b").restarts === 1 && health("b").state === "up", 10_000, "b back");
    text = await scrape();
    expect(sample(text, "warden_mcp_upstream_restarts_total", "b")).toBe(1);
    expect(sample(text, "warden_mcp_upstream_restarts_total", "a")).toBe(1);
    // and it serves again after the restart
    expect(
      (await client.callTool({ name: "a__echo", arguments: { text: "again" } })).content,
    ).toEqual([{ type: "text", text: "again" }]);
  });
});

it("reads 0 for a shared upstream that gave up, with its restarts", async () => {
  const dir = tempDir();
  const file = writeGatewayFiles(
    dir,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\ntelemetry: { metrics: true }\nrestart: { initial_ms: 50, max_ms: 50, max_attempts: 2 }\nupstreams:\n  - name: dies\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", "process.exit(3)"]\n    sessions: shared\n`,
  );
  const gw = await Gateway.start({ config: loadGatewayConfig(file), watch: false, log: () => {} });
  try {
    await until(() => gw.views().upstreams()[0]!.state === "failed", 10_000, "gave up");
    const path = gw.config.metrics?.path ?? "/metrics";
    const text = await (await fetch(`http://127.0.0.1:${gw.address!.port}${path}`)).text();
    expect(sample(text, "warden_mcp_upstream_up", "dies")).toBe(0);
    expect(sample(text, "warden_mcp_upstream_restarts_total", "dies")).toBe(2);
    expect(sample(text, "warden_mcp_upstream_sessions", "dies")).toBe(0);
  } finally {
    await gw.stop();
  }
});
