/**
 * The built `warden` CLI run without blocking the test worker (spawnSync would stall vitest's
 * own messages when a test runs several commands on a loaded machine).
 */
import { spawn } from "node:child_process";
import { CLI, type CliResult } from "./helpers.js";

export function run(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    p.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    p.once("error", reject);
    p.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
