/**
 * The gateway's guards: take the `security_guards` specs the gateway's config parser validated
 * (with the guards layer's parseGuardsConfig), load the guards, and hand the gateway one
 * strategy per phase (appended after the policy in each phase's chain). On a config reload, and
 * when a wasm guard's module file changes on disk, the guards are rebuilt: guards whose entry
 * and module did not change keep their instance and state; open sessions are told to list
 * again (notifications/*\/list_changed) and the tools they hold are judged by the new guards.
 * A guard that fails to load is rejected and the old guards keep running.
 */
import { WardenError } from "../core/errors.js";
import { FileWatcher } from "../core/file-watch.js";
import type { Strategy } from "../core/strategy.js";
import type { SharedPins } from "../guards/builtin/pin-store.js";
import { loadGuards } from "../guards/loader.js";
import type { GuardSet } from "../guards/set.js";
import { type GuardAuditNote, guardStrategies } from "../guards/strategy.js";
import { ToolCatalog } from "../guards/tool-verdicts.js";
import type { ServerInfo } from "../guards/types.js";
import { type AuditRecord, newCallId } from "./audit.js";
import type { GatewayConfig, UpstreamConfig } from "./config-types.js";
import type { Gateway, ReloadResult } from "./gateway.js";
import type { GatewayPhase } from "./judges.js";
import { Naming } from "./naming.js";

export interface GatewayGuards {
  /** The loaded guards: one core chain per phase (each guard a strategy, by priority). */
  readonly set: GuardSet;
  readonly judges: Partial<Record<GatewayPhase, readonly Strategy[]>>;
  /** The tools each upstream listed (kept across reloads; see ToolCatalog). */
  readonly catalog: ToolCatalog;
}

export interface GatewayGuardsOptions {
  /** Where transpiled component guards are cached (default `<state.dir>/cache`). */
  cacheDir?: string;
  /** Receives guard outcomes worth an audit line (the gateway's audit log, once it runs). */
  note?: (n: GuardAuditNote) => void;
  /** Where guards' own log lines go. */
  log?: (guard: string, level: string, message: string) => void;
  previous?: GuardSet;
  /** The previous configuration's catalog of listed tools. */
  catalog?: ToolCatalog;
  /** state.redis: rug_pull's pins shared with the other instances (else its pins file). */
  pins?: SharedPins;
}

export function serverInfo(u: UpstreamConfig): ServerInfo {
  return u.kind === "http"
    ? { name: u.name, transport: "http", url: u.url }
    : { name: u.name, transport: "stdio", command: u.command, args: u.args };
}

/**
 * The enabled guard ids of a gateway config. The section itself was validated when the config
 * was parsed (parseConfig calls parseGuardsConfig: file:line:col errors at start, on
 * `warden gateway --check` and on every reload).
 */
export function checkGatewayGuards(config: GatewayConfig): string[] {
  return (config.guards ?? []).filter((g) => g.enabled).map((g) => g.id);
}

/**
 * Load the guards of a gateway config. Throws on load errors. With no guards the result still
 * records the tools each upstream lists (a tools_list strategy that judges nothing), so guards a
 * later reload adds can judge the tools open sessions already hold.
 */
export async function loadGatewayGuards(
  config: GatewayConfig,
  opts: GatewayGuardsOptions = {},
): Promise<GatewayGuards | undefined> {
  const specs = config.guards ?? [];
  // The cache: the option, else <state.dir>/cache (so --check and reloads fill the same one).
  const cacheDir = opts.cacheDir ?? config.state?.cacheDir;
  const set = await loadGuards(specs, {
    ...(cacheDir ? { cacheDir } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.previous ? { previous: opts.previous } : {}),
    ...(opts.pins ? { pins: opts.pins } : {}),
  });
  const naming = new Naming(config.upstreams);
  const catalog = opts.catalog ?? new ToolCatalog();
  const judges = guardStrategies(set, {
    upstreams: config.upstreams.map(serverInfo),
    route: (n) => naming.route(n),
    publicName: (u, n) => naming.publicName(u, n),
    catalog,
    ...(opts.note ? { note: opts.note } : {}),
  });
  return { set, judges, catalog };
}

/** The module files of a config's enabled wasm guards (watched for changes). */
export function guardModuleFiles(config: GatewayConfig): string[] {
  return (config.guards ?? [])
    .filter((g) => g.enabled && g.type === "wasm" && g.modulePath !== undefined)
    .map((g) => g.modulePath!);
}

export interface FollowOptions extends GatewayGuardsOptions {
  /** Watch the wasm guards' module files and reload the guards when one changes (default true). */
  watchModules?: boolean;
  /** Debounce of the module watcher, ms (default 150). */
  debounceMs?: number;
  /** Told of each guard set swapped in (so that its owner can close the latest one on stop). */
  onSwap?: (next: GatewayGuards | undefined) => void;
}

/**
 * Keep the gateway's guards in step with config reloads and with their module files. Each
 * rebuild runs after the previous one (never two at once). On success the new strategies are
 * swapped in, every open session is told to list again, and the audit gets a `guards_reload`
 * line; on failure the old guards keep running, and stderr and the audit say why (the error
 * names the guard entry's file:line and its module). Emits "guards" on the gateway with
 * `{ ok, trigger, guards | error }`. Returns a function that stops following.
 */
export function followGuardReloads(
  gw: Gateway,
  first: GatewayGuards | undefined,
  opts: FollowOptions = {},
): () => void {
  let current = first;
  let currentUpstreams = JSON.stringify(gw.config.upstreams);
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  const watcher =
    opts.watchModules === false
      ? undefined
      : new FileWatcher(() => rebuild("module"), opts.debounceMs ?? 150);
  const watchModules = () => watcher?.set(guardModuleFiles(gw.config));
  watchModules();

  const audit = (rec: Pick<AuditRecord, "decision" | "reason" | "trigger" | "code">) => {
    gw.audit?.write({
      time: new Date().toISOString(),
      call_id: newCallId(),
      phase: "event",
      caller: null,
      session: null,
      upstream: null,
      method: "guards/reload",
      duration_ms: 0,
      kind: "guards_reload",
      ...rec,
    });
  };

  const rebuild = (trigger: "config" | "module") => {
    queue = queue.then(async () => {
      if (stopped) return;
      const config = gw.config;
      try {
        const next = await loadGatewayGuards(config, {
          ...opts,
          ...(current ? { previous: current.set, catalog: current.catalog } : {}),
        });
        if (stopped) {
          // Close only what this rebuild started (the rest is shared with the current set).
          for (const e of next?.set.guards ?? [])
            if (!current?.set.guards.some((c) => c.guard === e.guard)) e.guard.close?.();
          return;
        }
        // Nothing to do when every guard kept its instance and the upstreams (which the
        // strategies name) are the same: a module file touched but unchanged, or a reload that
        // changed only the policy or other settings.
        const upstreams = JSON.stringify(config.upstreams);
        const same =
          next !== undefined &&
          current !== undefined &&
          upstreams === currentUpstreams &&
          next.set.guards.length === current.set.guards.length &&
          next.set.guards.every(
            (e, i) =>
              e.guard === current!.set.guards[i]!.guard &&
              e.spec.priority === current!.set.guards[i]!.spec.priority,
          );
        if (same) return;
        current = next;
        currentUpstreams = upstreams;
        opts.onSwap?.(next);
        gw.setJudges(next?.judges ?? {});
        // The tools open sessions hold were judged by the old guards: ask them to list again
        // (a call by name before that is judged by the new guards too, see ToolVerdicts).
        for (const s of gw.sessions) s.listsChanged();
        const ids = next?.set.guards.map((g) => g.spec.id) ?? [];
        if (trigger === "module")
          process.stderr.write(
            `warden gateway: a guard module changed on disk; guards reloaded (${ids.join(", ") || "none"})\n`,
          );
        audit({
          decision: "allow",
          reason: `${trigger === "module" ? "a guard module changed" : "config reloaded"}: guards ${ids.join(", ") || "none"}`,
          trigger,
        });
        gw.emit("guards", { ok: true, trigger, guards: ids });
      } catch (error) {
        const message = (error as Error).message;
        process.stderr.write(
          `warden gateway: rejected the new guards (${trigger === "module" ? "a guard module changed" : "config reloaded"}), the old guards keep running:\n${message}\n`,
        );
        audit({
          decision: "deny",
          reason: `rejected, the old guards keep running: ${message}`,
          trigger,
          code: error instanceof WardenError ? error.code : "guard_load_failed",
        });
        gw.emit("guards", { ok: false, trigger, error });
      } finally {
        watchModules();
      }
    });
  };

  const onReload = (r: ReloadResult) => {
    if (r.ok) rebuild("config");
  };
  gw.on("reload", onReload);
  return () => {
    stopped = true;
    watcher?.close();
    gw.off("reload", onReload);
  };
}

/**
 * An audit sink for guard notes: one line each in the gateway's audit log (phase `event`, kind
 * `guard`), sharing the call_id of the call the guards judged.
 */
export function auditNotes(gw: () => Gateway | undefined): (n: GuardAuditNote) => void {
  return (n) => {
    const audit = gw()?.audit;
    if (audit === undefined) return;
    const rec: AuditRecord = {
      time: new Date().toISOString(),
      call_id: n.call_id ?? newCallId(),
      phase: "event",
      caller: n.client ?? null,
      session: n.session ?? null,
      upstream: n.upstream,
      method: n.method,
      decision: n.decision,
      reason: n.reason,
      duration_ms: 0,
      kind: "guard",
      guards: n.guards,
    };
    if (n.target !== undefined) rec.name = n.target;
    audit.write(rec);
  };
}
