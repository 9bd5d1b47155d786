/**
 * The seam between the component worker (src/hosted/worker/*) and the WASI host that runs
 * inside it (src/hosted/wasi/, issue 21's "wasi" part).
 *
 * The worker thread owns a component's instances. Before it instantiates one, it calls
 * `createHostImports(options, emit)` and hands the returned `imports` to jco's `instantiate`
 * (the object is keyed by the import names the component uses, e.g. `wasi:cli/environment`,
 * with and without the `@version` suffix; jco looks up the names its glue was generated for).
 * Everything a component can reach outside its own memory goes through this object, so every
 * host call is checked here.
 *
 * Rules for an implementation:
 * - Fail closed: what the policies do not grant does not exist (no preopen, no env key) or
 *   returns the WASI error its interface defines (`access`, `not-permitted`,
 *   `HTTP-request-denied`). Never hand the component raw preview2-shim filesystem or sockets.
 * - Every judged host call is reported with `emit({ kind: "decision", ... })`; the main thread
 *   writes it to the audit log and counts it in /metrics (per host function).
 * - `options.policies` are policy files; a capability is granted only when EVERY one of them
 *   allows it (the gateway's policy and the component's own, the effective grant is what both
 *   allow). No policy file at all means nothing is granted.
 * - Synchronous calls only: jco's glue is synchronous; a host call that waits (http, sockets)
 *   may block this worker thread (Atomics.wait), never the gateway's event loop, and the main
 *   thread ends a call that overruns its deadline by terminating the worker.
 *
 * The implementation in force is chosen in ./host.ts (one line): today the deny-everything host
 * (./deny-host.ts); the wasi helper replaces it by src/hosted/wasi/index.ts, which exports
 * `createHostImports` and `PROVIDED_IMPORTS` with the signatures below.
 */

/** What the worker knows about the component when it asks for its host imports. */
export interface WorkerHostOptions {
  /** The component's name as Warden shows it (its file name without `.wasm`). */
  readonly componentName: string;
  /** The component file (absolute). */
  readonly componentFile: string;
  /** The interfaces the component imports, as the component names them (with @version). */
  readonly imports: readonly string[];
  /**
   * Policy files (absolute paths, YAML or JSON, Warden's or Wassette's format) that must ALL
   * allow a host call for it to be granted. Empty: nothing is granted.
   */
  readonly policies: readonly string[];
  /** The directory relative paths in the policies are resolved against (the config's folder). */
  readonly baseDir: string;
}

/**
 * A host call judged by the policies (a crossing between the component and the host): the one
 * event shape the WASI host emits, the worker batches to the main thread, and the main thread
 * turns into an audit line (docs/audit.md, kind `host_call`), /metrics counts and, for a
 * refusal, the hint in the tool's answer. Plain data (structured-clone safe).
 */
export interface HostDecisionEvent {
  readonly kind: "decision";
  /** The component (the `source` of the core `Call`). */
  readonly component: string;
  /** The WASI interface, e.g. `wasi:filesystem/types` (the `target` of the core `Call`). */
  readonly interface: string;
  /** The host function as WIT names it, e.g. `[method]descriptor.open-at`. */
  readonly function: string;
  /** What the call asked for, bounded (the resolved path, the URL, `host:port`, the env key). */
  readonly target: string;
  readonly decision: "allow" | "deny";
  /** The policy's decision code (`no_rule`, `deny_rule`, `allow_rule`...), or `host` when the host itself refused. */
  readonly code: string;
  /** Which strategy decided (`policy`, `host`, a firewall's name). */
  readonly by?: string;
  /** The deciding rule as `file:line`, when a rule decided. */
  readonly rule?: string;
  /** The deciding rule's key path (`storage.allow[0]`). */
  readonly rule_id?: string;
  /** Why, in words (for a refusal: what the policy said). */
  readonly reason: string;
  /** What to add to the policy to allow it (a default deny), as `warden policy eval` says it. */
  readonly hint?: string;
  /** The WASI error the component got back (`access`, `HTTP-request-denied`, ...). */
  readonly wasi_error?: string;
  /** `get-environment`: the keys that exist in the host's environment but no policy allows. */
  readonly hidden?: readonly string[];
  /** The policy action as it was judged (the canonical, resolved path or host). */
  readonly action?: unknown;
  /** Microseconds the call took in the host (judging it, and running it when allowed). */
  readonly micros: number;
}

/** One line: what was refused (and its target), the rule, and what to add. */
export function describeDenial(e: HostDecisionEvent): string {
  const on = e.target !== "" ? ` ${e.target}` : "";
  const rule =
    e.rule !== undefined ? ` (${e.rule_id !== undefined ? `${e.rule_id}, ` : ""}${e.rule})` : "";
  const hint = e.hint !== undefined ? `; to allow it, ${e.hint}` : "";
  return `Warden refused ${e.interface} ${e.function}${on}: ${e.reason}${rule}${hint}`;
}

/** A line the component wrote to stdout/stderr, or a note of the host. */
export interface HostLogEvent {
  readonly kind: "log";
  readonly component: string;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
}

export type HostEvent = HostDecisionEvent | HostLogEvent;

/**
 * Sends an event to the main thread (cheap; buffered per call). `flush`, when the worker gives
 * one, sends what is buffered now: the host calls it before a host call that may wait, so a
 * deadline that terminates the worker during the wait loses none of the call's host calls.
 */
export type Emit = ((event: HostEvent) => void) & { readonly flush?: () => void };

export interface HostImports {
  /** The import object for jco's `instantiate`. */
  readonly imports: Record<string, unknown>;
  /** Called after each tool call (e.g. to drop per-call state); optional. */
  readonly afterCall?: () => void;
}

/** Builds the host imports of one component instance, inside the worker. */
export type CreateHostImports = (
  options: WorkerHostOptions,
  emit: Emit,
) => HostImports | Promise<HostImports>;

/**
 * The interfaces (without @version) a host provides. A component importing anything else is
 * refused at load, naming the import.
 */
export type ProvidedImports = readonly string[];

/** The interface name without its `@version` (`wasi:cli/environment@0.2.3` → `wasi:cli/environment`). */
export function unversioned(name: string): string {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

/**
 * Thrown by a host's `wasi:cli/exit.exit` (never `process.exit`): the worker ends the call with
 * an error answer and replaces the instance.
 */
export class ComponentExit extends Error {
  constructor(readonly ok: boolean) {
    super(`the component called wasi:cli/exit (${ok ? "ok" : "err"})`);
  }
}
