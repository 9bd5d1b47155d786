// The MCP conformance suite (server scenarios, Streamable HTTP) against the fixture server
// directly. The gateway's own test compares its pass count through the gateway with this one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConformanceResult,
  type FixtureProcess,
  runConformance,
  startFixture,
} from "../../scripts/conformance/run.mjs";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";

/** Every server scenario of @modelcontextprotocol/conformance 0.1.16 (suite "all"). */
const SCENARIOS = [
  "server-initialize",
  "logging-set-level",
  "ping",
  "completion-complete",
  "tools-list",
  "tools-call-simple-text",
  "tools-call-image",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-mixed-content",
  "tools-call-with-logging",
  "tools-call-error",
  "tools-call-with-progress",
  "tools-call-sampling",
  "tools-call-elicitation",
  "json-schema-2020-12",
  "elicitation-sep1034-defaults",
  "server-sse-polling",
  "server-sse-multiple-streams",
  "elicitation-sep1330-enums",
  "resources-list",
  "resources-read-text",
  "resources-read-binary",
  "resources-templates-read",
  "resources-subscribe",
  "resources-unsubscribe",
  "prompts-list",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-embedded-resource",
  "prompts-get-with-image",
  "dns-rebinding-protection",
];

/**
 * Scenarios the fixture does not support: none. Scenarios that pass with warnings only (no check
 * scored), with the reason:
 * - server-sse-polling (pending in the suite): its raw POST sends mcp-protocol-version 2025-03-26,
 *   for which the SDK rightly sends no SSE priming event and cannot close the stream mid-call.
 */
const UNSUPPORTED: string[] = [];
const WARNINGS_ONLY = ["server-sse-polling"];

describe("conformance suite against the fixture server", () => {
  let fixture: FixtureProcess;
  let result: ConformanceResult;

  beforeAll(async () => {
    fixture = await startFixture();
    result = await runConformance(fixture.url);
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it("runs every server scenario of the suite", () => {
    expect(result.scenarios.map((s) => s.name).sort()).toEqual([...SCENARIOS].sort());
    expect(result.total).toBe(SCENARIOS.length);
  });

  it("passes every scenario the fixture supports", () => {
    const failing = result.scenarios.filter((s) => !s.ok);
    expect(failing).toEqual([]);
    expect(result.passed).toBe(SCENARIOS.length - UNSUPPORTED.length);
    expect(result.checks.failed).toBe(0);
  });

  it("scores at least one check in every scenario but the warning-only ones", () => {
    const unscored = result.scenarios.filter((s) => s.passed === 0).map((s) => s.name);
    expect(unscored).toEqual(WARNINGS_ONLY);
    expect(result.checks.passed).toBeGreaterThanOrEqual(44);
  });
});

describe("conformance runner", () => {
  let unprotected: FixtureHttp;

  beforeAll(async () => {
    unprotected = await startFixtureHttp({ dnsRebindingProtection: false });
  });

  afterAll(async () => {
    await unprotected?.close();
  });

  it("reports a failing scenario with its failed checks", async () => {
    const r = await runConformance(unprotected.url, {
      scenarios: ["dns-rebinding-protection", "ping"],
    });
    expect(r.total).toBe(2);
    expect(r.passed).toBe(1);
    expect(r.failed).toBe(1);
    const dns = r.scenarios.find((s) => s.name === "dns-rebinding-protection");
    expect(dns?.ok).toBe(false);
    expect(dns?.failures.map((f) => f.id)).toContain("localhost-host-rebinding-rejected");
  });

  it("fails a target that is not an MCP server", async () => {
    const r = await runConformance(`${unprotected.url}-nothing-here`, { scenarios: ["ping"] });
    expect(r.passed).toBe(0);
    expect(r.scenarios[0]?.ok).toBe(false);
  });
});
