// Types for run.mjs (the conformance runner), for use from vitest tests.

export interface ScenarioResult {
  /** Suite scenario name, e.g. "tools-call-with-progress". */
  name: string;
  /** True when none of the scenario's checks failed (warnings do not fail it). */
  ok: boolean;
  /** Checks with status SUCCESS / FAILURE / WARNING. */
  passed: number;
  failed: number;
  warnings: number;
  failures: { id: string; message: string }[];
}

export interface ConformanceResult {
  url: string;
  suite: "all" | "active" | "pending" | "selected";
  /** The Node binary that ran the suite. */
  node: string;
  /** Scenarios ok / not ok / run. */
  passed: number;
  failed: number;
  total: number;
  /** Check counts summed over all scenarios. */
  checks: { passed: number; failed: number; warnings: number };
  scenarios: ScenarioResult[];
  durationMs: number;
}

export interface ConformanceOptions {
  /** Which scenario set the suite runs (default "all", which includes its pending ones). */
  suite?: "all" | "active" | "pending";
  /** Run only these scenarios (one suite process each). */
  scenarios?: string[];
  /** Kill the suite after this long (default 120000 ms per suite process). */
  timeoutMs?: number;
  /** Node binary for the suite (default: $CONFORMANCE_NODE or the current one). */
  node?: string;
  /** Keep the suite's checks.json files in this directory. */
  keep?: string;
}

export function runConformance(
  url: string,
  options?: ConformanceOptions,
): Promise<ConformanceResult>;

export interface FixtureProcess {
  /** Streamable HTTP endpoint, e.g. http://127.0.0.1:40123/mcp */
  url: string;
  pid: number;
  /** SIGTERM, resolved once the process has exited. */
  close(): Promise<void>;
}

/** Spawns test/fixtures/mcp-server/server.mjs --http on a free loopback port. */
export function startFixture(options?: {
  args?: string[];
  timeoutMs?: number;
}): Promise<FixtureProcess>;

/** Absolute path of test/fixtures/mcp-server/server.mjs. */
export const FIXTURE_SERVER: string;

/** {command: node, args: [server.mjs, "--stdio", ...extraArgs]}: the fixture as a stdio upstream. */
export function fixtureStdioCommand(extraArgs?: string[]): { command: string; args: string[] };
