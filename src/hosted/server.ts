/**
 * Components served as MCP tools: load a component file or folder (./load.ts), validate a
 * call's arguments against the tool's inputSchema (ajv) before anything runs, run it in the
 * worker pool (./pool.ts) and answer a CallToolResult: the result as `structuredContent`
 * (`{ "result": ... }`, described by the tool's outputSchema) and as JSON text, a function's
 * own `err(E)` as `isError: true`, and a refusal or failure (invalid arguments, timeout,
 * memory, trap) as `isError: true` with its code in `_meta["warden/error"]`.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type { ValidateFunction } from "ajv";
import { WardenError } from "../core/errors.js";
import { FileWatcher } from "../core/file-watch.js";
import { loadPolicyFile } from "../policy/io.js";
import type { CompiledPolicy } from "../policy/policy.js";
import type { LimitsInput } from "../sandbox/limits.js";
import { hostedCpu } from "./cpu.js";
import { Gate } from "./gate.js";
import { denialList, denialText, HostCallCollector, type HostCalls } from "./host-calls.js";
import { hostedLimits } from "./limits.js";
import { type LoadedComponent, loadComponents } from "./load.js";
import { ComponentPool, type PoolOptions } from "./pool.js";
import { type BoundKeys, type SessionBounds, SessionInstances } from "./session-instances.js";
import type { HostedTool } from "./tools.js";
import { followedPaths } from "./watch.js";
import type { InstanceMode } from "./worker/protocol.js";

export interface HostedOptions {
  /** A component file or a folder of components. */
  path: string;
  /** Policy files that must all allow a host call; their limits apply (strictest). */
  policies?: readonly string[];
  /** Keep one instance per component across calls (default: fresh state per call). */
  stateful?: boolean;
  /** Which instance a call runs in (docs/hosted-tools.md#state); `stateful: true` is "stateful". */
  instance?: InstanceMode;
  /** `per-session`: live instances per component at most, and their memory (./session-instances.ts). */
  sessions?: SessionBounds & { keys?: BoundKeys };
  /** Calls of one component that may wait behind `resources.limits.cpu` (default 64; ./gate.ts). */
  cpuWaiting?: number;
  /** Where transpiled components and instrumented modules are cached. */
  cacheDir?: string;
  pool?: Omit<PoolOptions, "onEvents">;
  /** Follow the component and policy files: a change reloads them (see `reload`). */
  watch?: boolean;
  /** The host calls of each tool call, when it ends (judged in the workers: audit, metrics). */
  onHostCalls?: (calls: HostCalls, context: CallContext) => void;
}

/** Who made a tool call, as the MCP server knows it (for `onHostCalls`). */
export interface CallContext {
  /** The clientInfo `name@version` of the session. */
  readonly client?: string;
  /** The MCP session (one per MCP server over this HostedServer): per-session instances. */
  readonly session?: string;
  /** Aborts when the call is cancelled or its session closes: a call still waiting never runs. */
  readonly signal?: AbortSignal;
  /**
   * The abort of `signal` ends the call even while it runs (its worker is terminated and
   * replaced; the call fails `hosted_cancelled`): tasks/cancel. Otherwise a running call runs
   * to its end or its deadline.
   */
  readonly endRunning?: boolean;
}

/** The answer's `_meta` key carrying the call's host calls (a gateway upstream only). */
export const HOST_CALLS_META = "warden/host_calls";

/** An MCP tool as tools/list shows it. */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
}

export interface ToolAnswer {
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
  [k: string]: unknown;
}

interface Entry {
  component: LoadedComponent;
  tool: HostedTool;
  validate: ValidateFunction;
}

let ajvInstance: import("ajv").Ajv | undefined;
function ajv(): import("ajv").Ajv {
  if (ajvInstance === undefined) {
    const { Ajv } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
    ajvInstance = new Ajv({ allErrors: true, strict: false });
  }
  return ajvInstance;
}

/** Load and compile the policy files (a located error for each problem). */
export async function loadPolicies(files: readonly string[]): Promise<CompiledPolicy[]> {
  const out: CompiledPolicy[] = [];
  for (const f of files) {
    const r = await loadPolicyFile(f);
    if (!r.ok)
      throw new WardenError(
        "policy_invalid",
        `${f}: ${r.errors.map((e) => `${e.file}:${e.line}:${e.col} ${e.code}: ${e.message}`).join("; ")}`,
        { category: "config", details: { file: f } },
      );
    out.push(r.policy);
  }
  return out;
}

function answerError(e: WardenError): ToolAnswer {
  return {
    content: [{ type: "text", text: `${e.code}: ${e.message}` }],
    isError: true,
    _meta: { "warden/error": e.toJSON() },
  };
}

/** What a reload did (`warden serve` logs it; the gateway audits it, kind component_reload). */
export interface ReloadOutcome {
  /** False: the new version could not be loaded; the old one keeps serving. */
  readonly ok: boolean;
  /** True when something changed (a reload of identical files changes nothing, says nothing). */
  readonly changed: boolean;
  /** What was loaded, or (on failure) what keeps serving. */
  readonly components: readonly string[];
  /** Why the new version was refused: its error code and message. */
  readonly error?: { readonly code: string; readonly message: string };
}

interface State {
  readonly components: readonly LoadedComponent[];
  readonly entries: Map<string, Entry>;
  readonly limits: LimitsInput;
  /** How many calls of one component may run at once (`resources.limits.cpu`, ./cpu.ts). */
  readonly cpu: number | undefined;
  /** The component hashes and policy texts: a reload that changes nothing is skipped. */
  readonly signature: string;
}

async function loadState(opts: HostedOptions, policies: readonly string[]) {
  const compiled = await loadPolicies(policies);
  const limits = hostedLimits(compiled);
  const cpu = hostedCpu(compiled);
  const components = await loadComponents(
    opts.path,
    opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir },
  );
  const entries = new Map<string, Entry>();
  for (const c of components)
    for (const tool of c.tools)
      entries.set(tool.name, { component: c, tool, validate: ajv().compile(tool.inputSchema) });
  const texts = policies.map((p) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  });
  const signature = JSON.stringify([components.map((c) => [c.file, c.sha256]), texts]);
  return { components, entries, limits, cpu, signature } satisfies State;
}

export class HostedServer {
  #state: State;
  #watcher: FileWatcher | undefined;
  #reloading: Promise<ReloadOutcome> | undefined;
  #reloads = 0;
  readonly #gate: Gate;
  readonly #instances: SessionInstances;
  /** Per-session calls in flight, per session; a session that ended with calls in flight. */
  readonly #inflight = new Map<string, number>();
  readonly #ending = new Set<string>();
  readonly #reloadListeners = new Set<(r: ReloadOutcome) => void>();

  private constructor(
    state: State,
    readonly pool: ComponentPool,
    private readonly opts: HostedOptions,
    private readonly policies: readonly string[],
  ) {
    this.#state = state;
    this.#instances = new SessionInstances(opts.sessions, opts.sessions?.keys);
    this.#gate = new Gate(opts.cpuWaiting);
  }

  /** Calls of `component` running and waiting behind `resources.limits.cpu`. */
  cpuLoad(component: string): { running: number; waiting: number } {
    return this.#gate.load(component);
  }

  /** Live per-session instances of `component` and their memory as last measured. */
  sessionInstances(component: string): { count: number; bytes: number } {
    return { count: this.#instances.count(component), bytes: this.#instances.bytes(component) };
  }

  get #perSession(): boolean {
    return this.opts.stateful !== true && this.opts.instance === "per-session";
  }

  /** The components serving now. */
  get components(): readonly LoadedComponent[] {
    return this.#state.components;
  }

  /** The limits every call runs under (the strictest of the policies'). */
  get limits(): LimitsInput {
    return this.#state.limits;
  }

  private get entries(): Map<string, Entry> {
    return this.#state.entries;
  }

  static async open(opts: HostedOptions): Promise<HostedServer> {
    const policies = (opts.policies ?? []).map((p) => resolve(p));
    const state = await loadState(opts, policies);
    const pool = new ComponentPool(opts.pool ?? {});
    const server = new HostedServer(state, pool, opts, policies);
    server.#define(state);
    if (opts.watch === true)
      server.#watcher = new FileWatcher(() => {
        void server.reload();
      }).set(followedPaths(resolve(opts.path), policies));
    return server;
  }

  #define(state: State): void {
    const policies = this.policies;
    for (const c of state.components)
      this.pool.define({
        key: c.name,
        host: {
          componentName: c.name,
          componentFile: c.file,
          imports: c.imports,
          policies,
          baseDir: policies[0] === undefined ? dirname(c.file) : dirname(policies[0]),
        },
        jsPath: c.transpiled.jsPath,
        dir: c.transpiled.dir,
        limits: state.limits,
        ...(this.opts.cacheDir === undefined ? {} : { cacheDir: this.opts.cacheDir }),
        instance: this.opts.stateful === true ? "stateful" : (this.opts.instance ?? "per-call"),
        tools: c.tools.map((t) => t.call),
      });
  }

  /** How many times the files were loaded again (a followed file changed, or `reload`). */
  get reloads(): number {
    return this.#reloads;
  }

  /** Hear of each reload that changed something or failed; returns a function to stop. */
  onReload(listener: (r: ReloadOutcome) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => this.#reloadListeners.delete(listener);
  }

  /**
   * Load the component(s) and policies again (a file changed). A new version that loads is
   * swapped in: calls from now on run it (workers drop their instances of the old one; a
   * stateful component's state is lost); one that cannot be loaded (not a component, a WIT
   * mismatch, a tool name collision, an invalid policy) is refused and the old one keeps
   * serving. One reload at a time.
   */
  reload(): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      this.#reloads++;
      let next: State;
      try {
        next = await loadState(this.opts, this.policies);
      } catch (e) {
        const err =
          e instanceof WardenError
            ? { code: e.code, message: e.message }
            : { code: "hosted_load_failed", message: (e as Error).message };
        return this.#told({
          ok: false,
          changed: true,
          components: this.#state.components.map((c) => c.file),
          error: err,
        });
      }
      const changed = next.signature !== this.#state.signature;
      if (changed) {
        this.#define(next);
        this.#instances.clear();
        this.#state = next;
      }
      return this.#told({ ok: true, changed, components: next.components.map((c) => c.file) });
    };
    const p = (this.#reloading ?? Promise.resolve()).then(run, run);
    this.#reloading = p;
    return p;
  }

  #told(r: ReloadOutcome): ReloadOutcome {
    if (r.changed)
      for (const l of this.#reloadListeners) {
        try {
          l(r);
        } catch {
          // a listener's failure does not undo the reload
        }
      }
    return r;
  }

  /** The tools, as tools/list answers them. */
  tools(): McpTool[] {
    return [...this.entries.values()].map(({ tool }) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema,
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
    }));
  }

  /**
   * tools/call: validate, run in a worker, answer. Never throws for a call's own failure. When
   * host calls were refused, the answer says which and what to add to the policy (a text item
   * and `_meta["warden/denials"]`); `hostCallsInMeta`: the call's host calls go in
   * `_meta["warden/host_calls"]` too (for the gateway, which audits them and takes them out).
   */
  async call(
    name: string,
    args: Record<string, unknown> | undefined,
    context: CallContext & { hostCallsInMeta?: boolean } = {},
  ): Promise<ToolAnswer> {
    const e = this.entries.get(name);
    if (e === undefined)
      return answerError(
        new WardenError("hosted_unknown_tool", `no tool ${name}; tools/list names the tools`, {
          category: "usage",
          details: { tool: name },
        }),
      );
    const input = args ?? {};
    if (!e.validate(input)) {
      const problems = (e.validate.errors ?? [])
        .map((x) => `arguments${x.instancePath.replaceAll("/", ".")} ${x.message ?? "is invalid"}`)
        .join("; ");
      return answerError(
        new WardenError(
          "hosted_invalid_arguments",
          `tool ${name}: ${problems}; the component did not run (inputSchema says what it takes)`,
          { category: "usage", details: { tool: name, component: e.component.name } },
        ),
      );
    }
    const component = e.component.name;
    // per-session: the session's instance, or a place for a new one within the bounds.
    const session = this.#perSession ? (context.session ?? "") : undefined;
    let fresh = false;
    if (session !== undefined) {
      try {
        fresh = !this.#instances.admit(component, session);
      } catch (err) {
        if (!(err instanceof WardenError)) throw err;
        return answerError(err);
      }
      this.#inflight.set(session, (this.#inflight.get(session) ?? 0) + 1);
    }
    const host = new HostCallCollector(component, name);
    let answer: ToolAnswer;
    let reached = false;
    try {
      const out = await this.#gate.run(
        component,
        this.#state.cpu,
        () => {
          reached = true;
          return this.pool.call(
            component,
            name,
            input,
            Number(this.limits.timeout_ms),
            host.add,
            context.session,
            context.signal === undefined
              ? undefined
              : { signal: context.signal, endRunning: context.endRunning === true },
          );
        },
        context.signal,
      );
      if (session !== undefined && out.bytes !== undefined)
        this.#instances.measured(component, session, out.bytes);
      if (out.isError)
        answer = {
          content: [{ type: "text", text: JSON.stringify(out.value ?? null) }],
          isError: true,
        };
      else if (!("value" in out) || e.tool.outputSchema === undefined)
        answer = { content: [{ type: "text", text: "" }] };
      else {
        const structured = { result: out.value };
        answer = {
          content: [{ type: "text", text: JSON.stringify(structured) }],
          structuredContent: structured,
        };
      }
    } catch (err) {
      // A failure in the worker drops the session's instance; one that never reached it
      // (cancelled in the queue) leaves it, or gives back the place taken for it.
      if (session !== undefined && (reached || fresh)) this.#instances.release(component, session);
      if (!(err instanceof WardenError)) throw err;
      answer = answerError(err);
    } finally {
      if (session !== undefined) this.#callEnded(session);
    }
    return this.#withHostCalls(answer, host.done(), context);
  }

  /** The refusals' hint in the answer; the host calls to whoever audits them. */
  #withHostCalls(
    answer: ToolAnswer,
    calls: HostCalls,
    context: CallContext & { hostCallsInMeta?: boolean },
  ): ToolAnswer {
    const text = denialText(calls);
    if (text !== undefined) {
      answer.content.push({ type: "text", text });
      answer._meta = { ...(answer._meta ?? {}), "warden/denials": denialList(calls) };
    }
    if (context.hostCallsInMeta === true && (calls.events.length > 0 || calls.dropped.length > 0))
      answer._meta = { ...(answer._meta ?? {}), [HOST_CALLS_META]: calls };
    try {
      this.opts.onHostCalls?.(calls, context);
    } catch {
      // an audit sink that fails does not fail the call
    }
    return answer;
  }

  /**
   * An MCP session ended: drop its per-session instances. A call of it still in flight (cut
   * off) may still make one: that is dropped when the session's last call ends.
   */
  endSession(session: string): void {
    this.pool.endSession(session);
    this.#instances.endSession(session);
    if ((this.#inflight.get(session) ?? 0) > 0) this.#ending.add(session);
  }

  #callEnded(session: string): void {
    const n = (this.#inflight.get(session) ?? 1) - 1;
    if (n > 0) {
      this.#inflight.set(session, n);
      return;
    }
    this.#inflight.delete(session);
    if (this.#ending.delete(session)) {
      this.pool.endSession(session);
      this.#instances.endSession(session);
    }
  }

  close(): Promise<void> {
    this.#watcher?.close();
    return this.pool.close();
  }
}
