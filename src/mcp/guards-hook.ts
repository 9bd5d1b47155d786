/**
 * The gateway's guards: read `security_guards` from warden.yaml, load the guards, and hand the
 * gateway one strategy per phase (appended after the policy in each phase's chain). On a
 * config reload the guards are rebuilt; guards whose entry and module did not change keep their
 * instance and state. An invalid new guards section is rejected and the old guards keep running.
 */
import { readFileSync } from "node:fs";
import { WardenError } from "../core/errors.js";
import type { Strategy } from "../core/strategy.js";
import { formatGuardIssues, parseGuardsYaml } from "../guards/config.js";
import { createGuardPipeline } from "../guards/loader.js";
import type { GuardPipeline } from "../guards/pipeline.js";
import { type GuardAuditNote, guardStrategies } from "../guards/strategy.js";
import type { ServerInfo } from "../guards/types.js";
import type { GatewayConfig, UpstreamConfig } from "./config-types.js";
import type { Gateway, ReloadResult } from "./gateway.js";
import type { GatewayPhase } from "./judges.js";
import { Naming } from "./naming.js";

export interface GatewayGuards {
  readonly pipeline: GuardPipeline;
  readonly judges: Partial<Record<GatewayPhase, readonly Strategy[]>>;
}

export interface GatewayGuardsOptions {
  /** Where transpiled component guards are cached. */
  cacheDir?: string;
  /** Receives guard outcomes worth an audit line (the gateway's audit log, once it runs). */
  note?: (n: GuardAuditNote) => void;
  /** Where guards' own log lines go. */
  log?: (guard: string, level: string, message: string) => void;
  previous?: GuardPipeline;
}

export function serverInfo(u: UpstreamConfig): ServerInfo {
  return u.kind === "http"
    ? { name: u.name, transport: "http", url: u.url }
    : { name: u.name, transport: "stdio", command: u.command, args: u.args };
}

/** Validate `security_guards` of a gateway config (file:line errors); returns the enabled ids. */
export function checkGatewayGuards(config: GatewayConfig): string[] {
  if (config.file === "<inline>") return [];
  const r = parseGuardsYaml(readFileSync(config.file, "utf8"), config.file);
  if (r.issues.length > 0)
    throw new WardenError(
      "guard_config_invalid",
      `security_guards in ${config.file} has ${r.issues.length} problem(s):\n${formatGuardIssues(r.issues)}`,
      { category: "config", details: { issues: r.issues } },
    );
  return r.guards.filter((g) => g.enabled).map((g) => g.id);
}

/** Load the guards of a gateway config; undefined when it has none. Throws on config errors. */
export async function loadGatewayGuards(
  config: GatewayConfig,
  opts: GatewayGuardsOptions = {},
): Promise<GatewayGuards | undefined> {
  if (config.file === "<inline>") return undefined;
  checkGatewayGuards(config);
  const r = parseGuardsYaml(readFileSync(config.file, "utf8"), config.file);
  if (r.guards.every((g) => !g.enabled)) return undefined;
  const pipeline = await createGuardPipeline(r.guards, {
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.previous ? { previous: opts.previous } : {}),
  });
  const naming = new Naming(config.upstreams);
  const judges = guardStrategies(pipeline, {
    upstreams: config.upstreams.map(serverInfo),
    route: (n) => naming.route(n),
    publicName: (u, n) => naming.publicName(u, n),
    ...(opts.note ? { note: opts.note } : {}),
  });
  return { pipeline, judges };
}

/**
 * Start the gateway's guards and keep them in step with config reloads. Returns a function that
 * stops following reloads. Guard audit notes go to the gateway's audit log.
 */
export function followGuardReloads(
  gw: Gateway,
  first: GatewayGuards | undefined,
  opts: GatewayGuardsOptions = {},
): () => void {
  let current = first;
  const onReload = (r: ReloadResult) => {
    if (!r.ok) return;
    loadGatewayGuards(gw.config, {
      ...opts,
      ...(current ? { previous: current.pipeline } : {}),
    }).then(
      (next) => {
        current = next;
        gw.setJudges(next?.judges ?? {});
        gw.emit("guards", { ok: true, guards: next?.pipeline.guards.map((g) => g.spec.id) ?? [] });
      },
      (error: unknown) => {
        process.stderr.write(
          `warden gateway: rejected the new security_guards, the old guards keep running:\n${(error as Error).message}\n`,
        );
        gw.emit("guards", { ok: false, error });
      },
    );
  };
  gw.on("reload", onReload);
  return () => gw.off("reload", onReload);
}

/** An audit sink for guard notes: one JSON line each in the gateway's audit log. */
export function auditNotes(gw: () => Gateway | undefined): (n: GuardAuditNote) => void {
  return (n) => {
    const audit = gw()?.audit;
    if (audit === undefined) return;
    audit.write({ time: new Date().toISOString(), duration_ms: 0, ...n } as unknown as Parameters<
      typeof audit.write
    >[0]);
  };
}
