/**
 * `warden serve <file|dir> --policy P [--inspect] [--stateful]`: WebAssembly components as an
 * MCP server over stdio (docs/hosted-tools.md). `--inspect` prints the tools it would expose as
 * JSON and exits.
 */
import type { Command } from "commander";
import { printJson, usageError } from "../output.js";

interface ServeOpts {
  policy?: string[];
  inspect?: boolean;
  stateful?: boolean;
  http?: string;
  workers?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve <path>")
    .description(
      "Serve WebAssembly components (a .wasm file or a folder of them) as MCP tools over stdio: every exported function is a tool; host calls are judged by the policy.",
    )
    .option(
      "-p, --policy <file>",
      "policy file granting host calls and setting limits (repeat: every one must allow)",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--inspect", "print the tools it would expose as JSON and exit")
    .option(
      "--stateful",
      "keep one instance per component across calls (default: fresh state per call)",
    )
    .option("--workers <n>", "worker threads running components (default: min(4, cores))")
    .action(async (path: string, opts: ServeOpts) => {
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64))
        throw usageError(`--workers must be a whole number from 1 to 64 (got "${opts.workers}")`);
      const { HostedServer } = await import("../../hosted/server.js");
      const hosted = await HostedServer.open({
        path,
        policies: opts.policy ?? [],
        stateful: opts.stateful === true,
        ...(workers === undefined ? {} : { pool: { size: workers } }),
      });
      if (opts.inspect) {
        printJson({
          components: hosted.components.map((c) => ({
            name: c.name,
            file: c.file,
            sha256: c.sha256,
            imports: c.imports,
          })),
          limits: hosted.limits,
          tools: hosted.tools(),
        });
        await hosted.close();
        return;
      }
      const { serveOn } = await import("../../hosted/mcp-server.js");
      const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
      const transport = new StdioServerTransport();
      const closed = new Promise<void>((r) => {
        transport.onclose = r;
      });
      const server = await serveOn(hosted, transport);
      const stop = () => void server.close();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      process.stdin.once("end", stop);
      await closed;
      await hosted.close();
      setImmediate(() => process.exit(process.exitCode ?? 0));
    });
}
