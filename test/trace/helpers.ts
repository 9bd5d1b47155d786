/** Helpers of the `warden run` tests: a temp folder with a policy, and the real CLI run async. */
import { spawn } from "node:child_process";
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const CLI = resolve("dist/cli/main.js");

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh folder (its real path: policies judge real paths). */
export function tempDir(prefix = "warden-trace-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Write files (path relative to dir: text). */
export function files(dir: string, map: Record<string, string>): void {
  for (const [name, text] of Object.entries(map)) writeFileSync(join(dir, name), text);
}

/** Run `warden ...args` to its end (asynchronously: the test's own servers keep serving). */
export function runWarden(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`warden ${args.join(" ")} did not end in time\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** A policy: storage deny on `deny` (read and write), everything else allowed. */
export function denyPolicy(deny: readonly string[], extra = ""): string {
  return [
    'version: "1.0"',
    "storage:",
    "  deny:",
    ...deny.map((d) => `    - { uri: ${JSON.stringify(d)}, access: [read, write] }`),
    "  allow:",
    '    - { uri: "/**", access: [read, write] }',
    extra,
    "",
  ].join("\n");
}
