/** Helpers of the `warden init` tests. */
import { spawn } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CLI, type CliResult } from "./helpers.js";

/**
 * Run the built `warden` CLI without blocking this process (`warden init` starts servers for
 * seconds; a synchronous wait would stall vitest's worker and any server this process runs).
 */
export function wardenAsync(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `warden gateway --config <file>` as a stdio MCP server, driven by a real SDK client, with its
 * state (the audit of a config written by `warden init`) under `stateHome`, not the user's.
 */
export async function gatewayClient(
  configFile: string,
  stateHome: string,
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "gateway", "--config", configFile],
    env: { XDG_STATE_HOME: stateHome },
    stderr: "pipe",
  });
  const client = new Client({ name: "init-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}
