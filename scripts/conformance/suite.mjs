// Runs the @modelcontextprotocol/conformance CLI's server scenarios in a child process and reads
// back its per-scenario checks.json files.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const COMPAT = fileURLToPath(new URL("./node20-compat.mjs", import.meta.url));
const SUMMARY_LINE = /^[✓✗] (\S+): (\d+) passed, (\d+) failed$/;
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Path of the suite's CLI entry inside node_modules. */
export function suiteBin() {
  const pkg = require.resolve("@modelcontextprotocol/conformance/package.json");
  return join(pkg, "..", "dist", "index.js");
}

/** Node binary and flags that run the suite here (Node 20 needs the compat preload). */
export function suiteCommand(node = process.env.CONFORMANCE_NODE || process.execPath) {
  return { node, args: ["--import", COMPAT, suiteBin()] };
}

/**
 * Runs `conformance <args>` and resolves with {code, stdout, stderr}; kills it after timeoutMs.
 * @param {string[]} args
 * @param {{timeoutMs?: number, node?: string}} options
 */
export function runSuite(args, { timeoutMs = 120_000, node } = {}) {
  const cmd = suiteCommand(node);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.node, [...cmd.args, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`conformance suite timed out after ${timeoutMs} ms: ${args.join(" ")}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the conformance suite with ${cmd.node}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Scenario names from the suite's "=== SUMMARY ===" lines: name -> {passed, failed}. */
export function parseSummary(stdout) {
  const out = new Map();
  for (const line of stdout.split("\n")) {
    const m = SUMMARY_LINE.exec(line.trim());
    if (m) out.set(m[1], { passed: Number(m[2]), failed: Number(m[3]) });
  }
  return out;
}

/** Reads every <dir>/server-<scenario>-<timestamp>/checks.json: scenario -> checks[]. */
export function readChecks(dir) {
  const out = new Map();
  for (const entry of readdirSync(dir)) {
    const m = RESULT_DIR.exec(entry);
    if (!m) continue;
    const checks = JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8"));
    out.set(m[1], [...(out.get(m[1]) ?? []), ...checks]);
  }
  return out;
}

/**
 * Runs one suite invocation against url and returns per-scenario checks.
 * @returns {Promise<{scenarios: Map<string, object[]|undefined>, stdout: string, stderr: string}>}
 */
export async function runServerScenarios(url, { suite = "all", scenario, timeoutMs, node, keep }) {
  const dir = keep ?? mkdtempSync(join(tmpdir(), "warden-conformance-"));
  try {
    const args = ["server", "--url", url, "-o", dir];
    if (scenario) args.push("--scenario", scenario);
    else args.push("--suite", suite);
    const { code, stdout, stderr } = await runSuite(args, { timeoutMs, node });
    const checks = readChecks(dir);
    const summary = parseSummary(stdout);
    const names = scenario ? [scenario] : [...summary.keys()];
    if (names.length === 0) {
      const tail = (stderr || stdout).trim().split("\n").slice(-15).join("\n");
      throw new Error(`conformance suite produced no results (exit ${code}):\n${tail}`);
    }
    const scenarios = new Map(names.map((n) => [n, checks.get(n)]));
    return { scenarios, stdout, stderr };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
