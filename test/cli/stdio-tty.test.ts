/**
 * A stdio gateway started from a terminal says, on stderr, that it waits for an MCP client and
 * how to connect one. `script` (util-linux) gives the gateway a real terminal as stdin.
 */
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { STDIO_TTY_HINT } from "../../src/cli/commands/gateway.js";
import { CLI, stdioUpstream, tempDir, writeGatewayFiles } from "../mcp/helpers.js";

const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

describe.skipIf(!hasScript)("warden gateway (listen: stdio) started from a terminal", () => {
  it("says it is waiting for an MCP client and how to connect one; Ctrl-C stops it", async () => {
    const dir = tempDir();
    const config = writeGatewayFiles(
      dir,
      `listen: stdio\npolicy: policy.yaml\nupstreams:\n${stdioUpstream("files")}`,
    );
    const cmd = [process.execPath, CLI, "gateway", "--config", config]
      .map((a) => `'${a}'`)
      .join(" ");
    // -q quiet, -f flush, -e the child's exit status, -c the command; /dev/null: no typescript file.
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString("utf8");
        if (out.includes("Ctrl-C stops.")) resolve();
      });
      child.on("exit", () => reject(new Error(`gateway exited before the hint: ${out}`)));
    });
    expect(out.replace(/\r?\n/g, "")).toContain(STDIO_TTY_HINT);
    expect(STDIO_TTY_HINT).toContain("docs/gateway.md");
    child.stdin.write("\u0003"); // Ctrl-C through the terminal: SIGINT to the gateway
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code).not.toBeNull();
  });

  it("says nothing of the kind when stdin is a pipe (an MCP client started it)", async () => {
    const dir = tempDir();
    const config = writeGatewayFiles(
      dir,
      `listen: stdio\npolicy: policy.yaml\nupstreams:\n${stdioUpstream("files")}`,
    );
    // stdin closed at once: the gateway stops as it does when its client goes away.
    const r = spawnSync(process.execPath, [CLI, "gateway", "--config", config], {
      input: "",
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).not.toContain("waiting for an MCP client");
  });
});
