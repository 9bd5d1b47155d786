// The MCP conformance suite (server scenarios over Streamable HTTP) through the gateway, with an
// allow-all policy: the pass count through the gateway equals the direct one, with a stdio
// upstream and with an HTTP upstream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConformanceResult,
  type FixtureProcess,
  fixtureStdioCommand,
  runConformance,
  startFixture,
} from "../../scripts/conformance/run.mjs";
import type { Gateway } from "../../src/mcp/gateway.js";
import { httpUpstream, startGateway, tempDir, writeGatewayFiles } from "./helpers.js";

const ALLOW_ALL = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools: { allow: ["*"] }
  prompts: { allow: ["*"] }
  resources: { allow: [{ uri: "test://**" }] }
`;

function summary(r: ConformanceResult): string {
  return r.scenarios
    .filter((s) => !s.ok)
    .map((s) => `${s.name}: ${s.failures.map((f) => f.message).join("; ")}`)
    .join("\n");
}

describe("conformance through the gateway", () => {
  let fixture: FixtureProcess;
  let direct: ConformanceResult;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    fixture = await startFixture();
    direct = await runConformance(fixture.url);
  }, 120_000);
  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await fixture?.close();
  });

  it("passes every scenario directly", () => {
    expect(direct.total).toBeGreaterThanOrEqual(30);
    expect(direct.passed, summary(direct)).toBe(direct.total);
  });

  for (const kind of ["stdio", "http"] as const) {
    it(`passes as many scenarios through the gateway (${kind} upstream)`, async () => {
      const dir = tempDir();
      const stdio = fixtureStdioCommand();
      const upstream =
        kind === "stdio"
          ? `  - name: fx\n    command: ${JSON.stringify(stdio.command)}\n    args: ${JSON.stringify(stdio.args)}\n`
          : httpUpstream("fx", fixture.url);
      const cfg = writeGatewayFiles(
        dir,
        `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${upstream}`,
        ALLOW_ALL,
      );
      const { gw, url } = await startGateway(cfg);
      gateways.push(gw);
      const via = await runConformance(url);
      expect(via.total).toBe(direct.total);
      expect(via.passed, summary(via)).toBe(direct.passed);
      expect(via.checks.failed).toBe(0);
      // check by check too: SSE answers and resumable streams as the server behind it has
      expect(via.checks.passed).toBe(direct.checks.passed);
    }, 120_000);
  }
});
