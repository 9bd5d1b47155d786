/**
 * A guard written as a WebAssembly component (world mcp:security-guard/security-guard).
 *
 * Instances: one per guard per loaded configuration. It is created at load and kept, so the
 * guard's own state (counters, caches) persists between invocations and across sessions. It is
 * recreated when the configuration is reloaded with a changed entry or module file, and after a
 * failure (trap, timeout, memory or fuel exhausted), since a component stopped halfway may hold
 * broken state: the next invocations fail (and follow failure_mode) until the new instance is
 * ready, which takes a few milliseconds once the modules are compiled.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { WardenError } from "../../core/errors.js";
import type { CoreRuntime } from "../../sandbox/component/runtime.js";
import type { Instantiate } from "../../sandbox/component/transpile.js";
import type { GuardSpec } from "../config-types.js";
import type { Guard, GuardContext, GuardDecision, GuardPhase, PhasePayload } from "../types.js";
import { transpileGuard } from "./transpile.js";
import {
  fromWitDecision,
  GuardOutputError,
  toWitContext,
  toWitInvocation,
  toWitResponse,
  toWitServer,
  toWitTool,
  type WitDecision,
} from "./wit-convert.js";

interface GuardExports {
  evaluateServerConnection(s: unknown, c: unknown): WitDecision;
  evaluateToolsList(t: unknown, c: unknown): WitDecision;
  evaluateToolInvoke(i: unknown, c: unknown): WitDecision;
  evaluateResponse(r: unknown, c: unknown): WitDecision;
  getSettingsSchema(): string;
  getDefaultConfig(): string;
}

const WARMUP: { [P in GuardPhase]: PhasePayload[P] } = {
  connection: { name: "warden.warmup", transport: "stdio", command: "true", args: [] },
  tools_list: [{ name: "warmup", description: "Warm-up tool.", inputSchema: { type: "object" } }],
  tool_invoke: { method: "tools/call", name: "warmup", arguments: {} },
  request: { method: "prompts/get", name: "warmup", arguments: {} },
  response: { method: "tools/call", name: "warmup", result: { content: [] }, isError: false },
};

/** The guard's own `err(message)` (a result, not a trap). */
class GuardErr {
  constructor(readonly message: string) {}
}

/** Run a call into the guard, turning its err(message) (jco's ComponentError) into a GuardErr. */
function guarded<T>(fn: () => T): T | GuardErr {
  try {
    return fn();
  } catch (error) {
    const message = (error as { payload?: unknown }).payload;
    if (typeof message === "string" && !(error instanceof WardenError))
      return new GuardErr(message);
    throw error;
  }
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
const LOG_MAX = 1024;

export interface ComponentGuardOptions {
  cacheDir?: string;
  /** Where the guard's `log` lines go (default: kept in a bounded buffer only). */
  log?: (guard: string, level: string, message: string) => void;
  /** Makes the sandbox runtime that meters this guard (one per guard). */
  runtime: (spec: GuardSpec) => CoreRuntime;
}

export interface ComponentGuard extends Guard {
  /** The guard's settings schema and default config (JSON), read once at load. */
  readonly settingsSchema: string;
  readonly defaultConfig: string;
  /** The last log lines the guard wrote (bounded). */
  readonly logs: readonly string[];
  /** How many instances were created so far (1 unless a failure forced a new one). */
  readonly instances: number;
}

export async function loadComponentGuard(
  spec: GuardSpec,
  bytes: Uint8Array,
  opts: ComponentGuardOptions,
): Promise<ComponentGuard> {
  const file = spec.modulePath ?? "<bytes>";
  const t = await transpileGuard(bytes, spec.id, file, opts.cacheDir);
  const mod = (await import(pathToFileURL(t.jsPath).href)) as { instantiate: Instantiate };
  const rt = opts.runtime(spec);
  const compiled = new Map<string, Promise<WebAssembly.Module>>();
  const getCoreModule = (p: string) => {
    let m = compiled.get(p);
    if (m === undefined) {
      m = readFile(join(t.dir, p)).then((b) => rt.compile(new Uint8Array(b), `${spec.id}/${p}`));
      compiled.set(p, m);
    }
    return m;
  };
  const logs: string[] = [];
  const config = spec.config;
  const host = {
    log(level: number, message: string) {
      const lv = LOG_LEVELS[level] ?? "info";
      const m = message.length > LOG_MAX ? `${message.slice(0, LOG_MAX)}...` : message;
      if (logs.length >= 100) logs.shift();
      logs.push(`${lv}: ${m}`);
      opts.log?.(spec.id, lv, m);
    },
    getTime: () => BigInt(Date.now()),
    getConfig(key: string): string | undefined {
      if (!Object.hasOwn(config, key)) return undefined;
      const v = config[key];
      return typeof v === "string" ? v : JSON.stringify(v);
    },
  };
  const imports = { "mcp:security-guard/host": host, "mcp:security-guard/host@0.1.0": host };

  async function instantiate(): Promise<GuardExports> {
    const inst = await rt.instantiateComponent(() =>
      mod.instantiate(getCoreModule, imports, (m, i) => rt.instantiate(m, i)),
    );
    const g = (inst.guard ?? inst["mcp:security-guard/guard@0.1.0"]) as GuardExports | undefined;
    if (g === undefined)
      throw new WardenError(
        "guard_load_failed",
        `Guard "${spec.id}": ${file} has no guard export.`,
        {
          category: "plugin",
          details: { guard: spec.id, file },
        },
      );
    return g;
  }

  let current: GuardExports | undefined;
  let pending: Promise<void> | undefined;
  let instances = 0;
  let lastError: unknown;
  // Warm-up: V8 compiles a module's functions lazily, on first call, and a JS engine inside the
  // guard has its own first-use costs, so the first invocation of each function can take far
  // longer than the next ones. Each new instance is called once per phase with a synthetic
  // payload (server "warden.warmup") before it serves; if that runs out of budget, the instance
  // is replaced once more (it may have been stopped half-way).
  const warm = (g: GuardExports): boolean => {
    for (const phase of spec.runsOn) {
      try {
        rt.load(() =>
          guarded(() => call(g, phase, WARMUP[phase], { serverName: "warden.warmup" })),
        );
      } catch {
        return false; // a trap or an exhausted limit; an err(message) is fine
      }
    }
    return true;
  };
  const fresh = async (): Promise<GuardExports> => {
    const g = await instantiate();
    if (warm(g)) return g;
    const h = await instantiate();
    warm(h); // a second failure is left to the first real call (and its failure_mode)
    return h;
  };
  const start = () => {
    pending = fresh().then(
      (g) => {
        current = g;
        instances++;
        pending = undefined;
      },
      (e) => {
        lastError = e;
        pending = undefined;
      },
    );
    return pending;
  };
  await start();
  if (current === undefined) throw lastError;
  const ready = current as GuardExports;
  const settingsSchema = rt.load(() => ready.getSettingsSchema());
  const defaultConfig = rt.load(() => ready.getDefaultConfig());

  function call<P extends GuardPhase>(
    g: GuardExports,
    phase: P,
    payload: PhasePayload[P],
    ctx: GuardContext,
  ): WitDecision {
    const c = toWitContext(ctx, phase);
    switch (phase) {
      case "connection":
        return g.evaluateServerConnection(toWitServer(payload as PhasePayload["connection"]), c);
      case "tools_list":
        return g.evaluateToolsList((payload as PhasePayload["tools_list"]).map(toWitTool), c);
      case "response":
        return g.evaluateResponse(toWitResponse(payload as PhasePayload["response"]), c);
      default:
        return g.evaluateToolInvoke(toWitInvocation(payload as PhasePayload["tool_invoke"]), c);
    }
  }

  return {
    id: spec.id,
    type: "wasm",
    settingsSchema,
    defaultConfig,
    logs,
    get instances() {
      return instances;
    },
    evaluate<P extends GuardPhase>(
      phase: P,
      payload: PhasePayload[P],
      ctx: GuardContext,
    ): GuardDecision {
      const g = current;
      if (g === undefined) {
        if (pending === undefined) start();
        throw new WardenError(
          "guard_failed",
          `guard "${spec.id}" is being re-instantiated after a failure${lastError ? ` (last: ${(lastError as Error).message})` : ""}`,
          { category: "plugin", details: { guard: spec.id } },
        );
      }
      let d: WitDecision | GuardErr;
      try {
        // jco throws the guard's err(message) as a ComponentError: caught inside the run, so
        // the sandbox does not take it for a trap.
        d = rt.run(() => guarded(() => call(g, phase, payload, ctx)));
      } catch (error) {
        // A trap, timeout, memory or fuel limit: the instance may be broken; replace it.
        current = undefined;
        lastError = error;
        start();
        throw error;
      }
      if (d instanceof GuardErr)
        // The guard returned err(message): its own failure, the instance is fine.
        throw new WardenError(
          "guard_failed",
          `guard "${spec.id}" returned an error: ${d.message}`,
          {
            category: "plugin",
            details: { guard: spec.id },
          },
        );
      try {
        return fromWitDecision(d, phase, payload);
      } catch (error) {
        if (error instanceof GuardOutputError)
          throw new WardenError("invalid_output", `guard "${spec.id}": ${error.message}`, {
            category: "plugin",
            details: { guard: spec.id },
          });
        throw error;
      }
    },
    close() {
      current = undefined;
    },
  };
}
