#!/usr/bin/env node
// Runs the MCP conformance suite's server scenarios (over Streamable HTTP) against a URL, or
// against the fixture server spawned on a free port, and prints the result as JSON.
//   node scripts/conformance/run.mjs [--url URL] [--suite all|active|pending]
//        [--scenario NAME]... [--timeout MS] [--keep DIR] [--fixture-arg ARG]...
// Library: runConformance(url, options) -> Promise<ConformanceResult>; startFixture(options);
// fixtureStdioCommand(); FIXTURE_SERVER.
// Exit code: 0 when every scenario passed, 1 when one failed, 2 on a usage error or crash.

import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runServerScenarios, suiteCommand } from "./suite.mjs";

/** Absolute path of the fixture server's entry point. */
export const FIXTURE_SERVER = fileURLToPath(
  new URL("../../test/fixtures/mcp-server/server.mjs", import.meta.url),
);
const FIXTURE = FIXTURE_SERVER;

/** Command and args that start the fixture over stdio (e.g. for a gateway's stdio upstream). */
export function fixtureStdioCommand(extraArgs = []) {
  return { command: process.execPath, args: [FIXTURE_SERVER, "--stdio", ...extraArgs] };
}

function summarize(name, checks) {
  if (!checks) {
    const failures = [{ id: name, message: "scenario crashed before writing its checks" }];
    return { name, ok: false, passed: 0, failed: 1, warnings: 0, failures };
  }
  const count = (status) => checks.filter((c) => c.status === status).length;
  const failures = checks
    .filter((c) => c.status === "FAILURE")
    .map((c) => ({ id: c.id, message: c.errorMessage ?? c.description }));
  const failed = count("FAILURE");
  return {
    name,
    ok: failed === 0,
    passed: count("SUCCESS"),
    failed,
    warnings: count("WARNING"),
    failures,
  };
}

/**
 * Runs the suite's server scenarios against an MCP Streamable HTTP endpoint.
 * A scenario is ok when none of its checks failed (warnings do not fail it).
 * @param {string} url e.g. http://127.0.0.1:8931/mcp (must be loopback for dns-rebinding-protection)
 * @param {{suite?: "all"|"active"|"pending", scenarios?: string[], timeoutMs?: number,
 *   node?: string, keep?: string}} [options]
 */
export async function runConformance(url, options = {}) {
  const started = Date.now();
  const suite = options.suite ?? "all";
  const runs = options.scenarios?.length
    ? options.scenarios.map((scenario) => ({ scenario }))
    : [{ scenario: undefined }];
  const scenarios = [];
  for (const run of runs) {
    const { scenarios: found } = await runServerScenarios(url, { ...options, suite, ...run });
    for (const [name, checks] of found) scenarios.push(summarize(name, checks));
  }
  const sum = (key) => scenarios.reduce((n, s) => n + s[key], 0);
  const passed = scenarios.filter((s) => s.ok).length;
  return {
    url,
    suite: options.scenarios?.length ? "selected" : suite,
    node: suiteCommand(options.node).node,
    passed,
    failed: scenarios.length - passed,
    total: scenarios.length,
    checks: { passed: sum("passed"), failed: sum("failed"), warnings: sum("warnings") },
    scenarios,
    durationMs: Date.now() - started,
  };
}

/**
 * Spawns the fixture server over Streamable HTTP on a free loopback port.
 * @param {{args?: string[], timeoutMs?: number}} [options] args: extra server.mjs flags
 * @returns {Promise<{url: string, pid: number, close: () => Promise<void>}>}
 */
export function startFixture(options = {}) {
  const args = [FIXTURE, "--http", "--port", "0", ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const close = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`fixture did not start within ${options.timeoutMs ?? 15_000} ms: ${stderr}`),
      );
    }, options.timeoutMs ?? 15_000);
    child.stdout.on("data", (d) => {
      buf += d;
      const line = buf.split("\n")[0];
      if (!buf.includes("\n")) return;
      clearTimeout(timer);
      try {
        resolve({ url: JSON.parse(line).listening, pid: child.pid, close });
      } catch {
        child.kill("SIGKILL");
        reject(new Error(`fixture printed an unexpected first line: ${line}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited with code ${code} before listening: ${stderr}`));
    });
  });
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: "string" },
        suite: { type: "string", default: "all" },
        scenario: { type: "string", multiple: true },
        timeout: { type: "string" },
        keep: { type: "string" },
        "fixture-arg": { type: "string", multiple: true },
      },
    }));
    if (!["all", "active", "pending"].includes(values.suite)) {
      throw new Error(`--suite must be all, active or pending, got ${values.suite}`);
    }
  } catch (err) {
    process.stderr.write(`conformance: ${err.message}\n`);
    process.exit(2);
  }
  const fixture = values.url ? undefined : await startFixture({ args: values["fixture-arg"] });
  try {
    const result = await runConformance(values.url ?? fixture.url, {
      suite: values.suite,
      scenarios: values.scenario,
      timeoutMs: values.timeout ? Number(values.timeout) : undefined,
      keep: values.keep,
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = result.failed === 0 ? 0 : 1;
  } finally {
    await fixture?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`conformance: ${err.message}\n`);
    process.exit(2);
  });
}
