import type { Command } from "commander";
import { loadConfig } from "../../mcp/config.js";
import { usageError } from "../output.js";

interface AdminOpts {
  config: string;
  port?: string;
}

/** `warden admin --config warden.yaml`: the admin API alone (no gateway), until stopped. */
export function registerAdmin(program: Command): void {
  program
    .command("admin")
    .description(
      "Run the admin HTTP API without a gateway: the plugin registry (/v1/wasm/plugins), the decision API (/v1/check), /metrics (docs/admin.md).",
    )
    .requiredOption(
      "-c, --config <file>",
      "the config (warden.yaml: policy, admin, wasm, auth, state)",
    )
    .option("--port <n>", "listen on this port instead of admin.listen.port (0: any free port)")
    .action(async (opts: AdminOpts) => {
      let port: number | undefined;
      if (opts.port !== undefined) {
        port = Number(opts.port);
        if (!/^\d{1,5}$/.test(opts.port) || port > 65535)
          throw usageError(`--port ${opts.port} is not a port: give a number from 0 to 65535`);
      }
      // no gateway: `upstreams` may be left out (docs/admin.md)
      const config = loadConfig(opts.config, { upstreamsOptional: true });
      for (const w of config.warnings ?? [])
        process.stderr.write(
          `warden: warning: ${w.file}:${w.line}:${w.col} ${w.key}: ${w.message}\n`,
        );
      const { startAdminApi } = await import("../admin-compose.js");
      const server = await startAdminApi(config, port === undefined ? {} : { port });
      process.stderr.write(`warden admin: listening on ${server.url}\n`);
      // after logrotate moved the audit file (pin approvals), as warden gateway does
      process.on("SIGHUP", () => server.reopenAudit());
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      await server.close();
      process.removeAllListeners("SIGHUP");
      setImmediate(() => process.exit(process.exitCode ?? 0));
    });
}
