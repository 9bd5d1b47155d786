import type { Command } from "commander";
import { Registry } from "prom-client";
import { loadConfig } from "../../mcp/config.js";
import type { GatewayConfig } from "../../mcp/config-types.js";
import { Gateway } from "../../mcp/gateway.js";
import { formatPolicyWarning, prefixWarnings } from "../../mcp/prefix-check.js";
import { formatRulesProblems, loadRulesFile } from "../../rules/index.js";
import { EXIT } from "../exit-codes.js";
import { printJson, usageError } from "../output.js";

/** Said on stderr when a stdio gateway's stdin is a terminal: nobody will speak MCP there. */
export const STDIO_TTY_HINT =
  'warden gateway: waiting for an MCP client on stdin/stdout (listen: stdio), but stdin is a terminal. Let an MCP client start this command (its config names `warden gateway --config <abs path>`; see docs/gateway.md, "Claude Desktop (or any stdio client)"), or set `listen: { http: ... }` to connect clients over HTTP. Ctrl-C stops.';

/** Keys at their old place (docs/gateway.md, "Shared keys"): one line each on stderr. */
function warnDeprecated(config: GatewayConfig): void {
  for (const w of config.warnings ?? [])
    process.stderr.write(`warden: warning: ${w.file}:${w.line}:${w.col} ${w.key}: ${w.message}\n`);
}

interface GatewayOpts {
  config: string;
  check?: boolean;
  json?: boolean;
  watch: boolean;
  port?: string;
}

/** `warden gateway --config warden.yaml`: run the MCP gateway until stopped. */
export function registerGateway(program: Command): void {
  program
    .command("gateway")
    .description(
      "Run the MCP gateway: enforce the policy between MCP clients and the upstream MCP servers in warden.yaml.",
    )
    .requiredOption("-c, --config <file>", "the gateway config (warden.yaml)")
    .option("--check", "validate the config and the policy, print a summary, and exit")
    .option("--json", "with --check: print the summary, or the problems, as one JSON document")
    .option("--no-watch", "do not reload the config and policy when their files change")
    .option("--port <n>", "listen on this port instead of listen.http.port (0: any free port)")
    .action(async (opts: GatewayOpts) => {
      // Read by the config loader, at start and on every reload (docs/gateway.md, WARDEN_PORT).
      if (opts.port !== undefined) process.env.WARDEN_PORT = opts.port;
      if (opts.json === true && opts.check !== true)
        throw usageError(
          "--json goes with --check (the running gateway prints no data; its audit is JSON lines)",
        );
      if (opts.check) {
        // Every problem at once, one per line (config, policy, upstream commands, guards,
        // transports); exit 2 when there is any.
        const { checkGateway } = await import("../../mcp/check.js");
        const r = await checkGateway(opts.config);
        // rules: the rules file's problems too (docs/rules.md), one per line
        if (r.config?.rules !== undefined) {
          const rr = loadRulesFile(r.config.rules);
          if (!rr.ok) {
            r.problems.push(...formatRulesProblems(rr.errors).split("\n"));
            r.ok = false;
          }
        }
        if (!r.ok) {
          if (opts.json === true)
            printJson({
              error: {
                code: "config_invalid",
                message: `${opts.config}: ${r.problems.length} problem(s)`,
                details: { problems: r.problems },
              },
            });
          process.stderr.write(
            `warden gateway --check: ${r.problems.length} problem(s):\n${r.problems.join("\n")}\n`,
          );
          process.exitCode = EXIT.usage;
          return;
        }
        const config = r.config!;
        warnDeprecated(config);
        for (const w of r.warnings ?? []) process.stderr.write(`warden: warning: ${w}\n`);
        printJson({
          ok: true,
          config: config.file,
          policy: config.policy,
          listen: config.listen.kind,
          upstreams: config.upstreams.map((u) => u.name),
          guards: r.guards ?? [],
          ...(r.warnings ? { warnings: r.warnings } : {}),
        });
        return;
      }
      const config = loadConfig(opts.config);
      warnDeprecated(config);
      // Policy rules a prefix renamed away (docs/gateway.md, "Several upstreams rename tools").
      for (const w of prefixWarnings(config))
        process.stderr.write(`warden: warning: ${formatPolicyWarning(w)}\n`);
      // security_guards (docs/guards.md) are loaded by Gateway.start and rebuilt on reload.
      // One prom-client registry for the process: the gateway's metrics and the admin API's.
      const metricsRegistry = new Registry();
      // admin: in warden.yaml: one plugin registry for the process, which the rules call too.
      const compose = config.admin ? await import("../admin-compose.js") : undefined;
      const log = compose?.adminLog();
      const reg =
        compose && log ? await compose.openPluginRegistry(config, metricsRegistry, log) : undefined;
      // rules: in warden.yaml: one core strategy after the policy (docs/rules.md); its plugins are
      // the registry's when wasm.enabled, else those of wasm.plugin_dir.
      const rules = await (await import("../rules-compose.js")).composeRules(config, {
        watch: opts.watch,
        ...(reg && config.wasm?.enabled === true ? { plugins: reg.registry } : {}),
      });
      const gw = await Gateway.start({
        config,
        watch: opts.watch,
        metricsRegistry,
        ...(rules === undefined ? {} : { strategies: rules.strategies }),
      });
      // A reloaded warden.yaml may name another rules file.
      if (rules)
        gw.on("reload", (r: { ok: boolean }) => {
          if (r.ok && gw.config.rules !== undefined) rules.reload(gw.config.rules);
        });
      // admin: in warden.yaml starts the admin API beside the gateway (docs/admin.md).
      const admin = compose
        ? await compose
            .startAdminApi(config, {
              metricsRegistry,
              views: gw.views(),
              // pin approvals over the admin API are audit lines of the gateway's log
              audit: (rec) => void gw.audit?.write(rec),
              // /v1/check and /v1/policy judge by the policy in force (hot reload included)
              policy: () => gw.policy,
              ...(reg === undefined ? {} : { registry: reg }),
              ...(log === undefined ? {} : { log }),
              ...(rules === undefined ? {} : { rules: () => rules.holder.current }),
            })
            .catch(async (e: unknown) => {
              rules?.close();
              await gw.stop();
              throw e;
            })
        : undefined;
      if (admin) process.stderr.write(`warden gateway: admin API on ${admin.url}\n`);
      // a reloaded auth section: the admin API takes its tokens too, or keeps its own saying why
      if (admin && compose)
        gw.on("reload", (r: { ok: boolean }) => {
          if (!r.ok) return;
          try {
            admin.setTokens(compose.tokensOf(gw.config));
          } catch (e) {
            process.stderr.write(
              `warden gateway: the admin API keeps the tokens in force: ${(e as Error).message}\n`,
            );
          }
        });
      if (gw.address)
        process.stderr.write(
          `warden gateway: listening on ${config.listen.kind === "http" && config.listen.tls !== undefined ? "https" : "http"}://${gw.address.address}:${gw.address.port}${config.listen.kind === "http" ? config.listen.path : ""}\n`,
        );
      if (config.listen.kind === "stdio" && process.stdin.isTTY === true)
        process.stderr.write(`${STDIO_TTY_HINT}\n`);
      const stop = () => void gw.stop();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      process.on("SIGHUP", () => gw.reopenAudit());
      await gw.stopped;
      rules?.close();
      await admin?.close();
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      process.removeAllListeners("SIGHUP");
      // Children are stopped and the audit is flushed; do not wait for stray handles.
      setImmediate(() => process.exit(process.exitCode ?? 0));
    });
}
