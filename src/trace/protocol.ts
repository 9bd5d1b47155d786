/**
 * The wire between the agents in a traced process and `warden run` (docs/trace.md, "Protocol"):
 * JSON over HTTP/1.1 on loopback, every request carrying the run's token. The endpoints and the
 * event's fields are malwi's (the seed's contract); Warden adds the verdict the agent reached
 * in-process, the rule that decided, and the pid.
 */
import type { Verdict } from "../core/decision.js";

/** The header every request carries: `authorization: Bearer <token>`. */
export const TOKEN_HEADER = "authorization";

/** Environment of a traced process: where the CLI listens, its token, the agent to preload. */
export const ENV_URL = "WARDEN_TRACE_URL";
export const ENV_TOKEN = "WARDEN_TRACE_TOKEN";
export const ENV_AGENT = "WARDEN_TRACE_AGENT";
/**
 * `<sha256 hex>:<pid>:<fd>`: the `/configure` answer `warden run` holds open (src/trace/handoff.ts).
 * An agent that may take it (given by warden run or a traced Node parent, with that hash)
 * installs its hooks without waiting for the CLI and registers with `/configure` afterwards
 * (saying which value it took), in order before its events; otherwise it waits for
 * `/configure`'s answer as before.
 */
export const ENV_CONFIG = "WARDEN_TRACE_CONFIG";

/** Batching (the seed's): a batch leaves every 50 ms or at 64 events; it grows under load. */
export const BATCH_MS = 50;
export const BATCH_EVENTS = 64;

/** Where an event was seen: the seed's hook types. */
export type HookType = "nodejs" | "python" | "exec" | "native";

export interface TraceArgument {
  readonly index: number;
  readonly display: string;
  readonly type_hint?: string;
}

export interface NetworkInfo {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: string;
}

/** One traced call, as the agent posts it in `POST /events` (an array of these). */
export interface TraceEvent {
  readonly hook_type: HookType;
  readonly event_type: "enter" | "leave";
  /** `js:fs.readFileSync`, `js:child_process.spawn`, `exec` ... */
  readonly function: string;
  /** The module the function belongs to (`fs`, `net`) or the executable. */
  readonly module: string;
  readonly arguments: readonly TraceArgument[];
  /** Monotonic nanoseconds since the run started (CLOCK_MONOTONIC, shared by processes). */
  readonly timestamp_ns: number;
  readonly thread_id: number;
  readonly pid: number;
  readonly network_info?: NetworkInfo;
  /** What was judged: a path, host, URL, command or key (the policy action's subject). */
  readonly target: string;
  /** The verdict the agent reached before the call went on (or did not). */
  readonly verdict: Verdict;
  /** `file:line` of the deciding rule, and its key path, when a rule decided. */
  readonly rule?: string;
  readonly rule_id?: string;
  readonly reason?: string;
  /** The policy action that was judged (kind and canonical fields), when there was one. */
  readonly action?: Readonly<Record<string, unknown>>;
  /** A review: how the person (or the timeout) answered. */
  readonly review?: "allowed" | "denied" | "timeout" | "no_tty";
}

export interface ConfigureRequest {
  readonly pid: number;
  readonly ppid: number;
  readonly thread_id: number;
  readonly nodejs_version?: string;
  readonly python_version?: string;
  readonly argv: readonly string[];
  /** The `WARDEN_TRACE_CONFIG` value whose answer the agent took (checked by the CLI). */
  readonly config?: string;
}

/** What `/configure` answers: the policy to judge with, the sections it judges, the clock. */
/**
 * Bytes one agent spools at most before it starts its flusher thread (src/trace/spool.ts): a
 * large process (npm's own, 194,500 events in an install) reports through the spool as a short
 * one does, one write per batch, instead of handing every batch to a thread that posts it over
 * HTTP (measured: about a fifth of the tracing's CPU per event). warden run may hand over a lower
 * bound (`<pid>:<fd>:<bytes>`); an agent never takes a higher one.
 */
export const SPOOL_AGENT_MAX = 64 * 1024 * 1024;
/** One spool record's size at most (an agent's batch; a longer one goes to the flusher thread). */
export const SPOOL_RECORD_LIMIT = 1024 * 1024;
/** The spool's size past which agents start their flusher threads instead (bounded). */
export const SPOOL_FILE_MAX = 256 * 1024 * 1024;

export interface ConfigureAnswer {
  readonly policy: { readonly text: string; readonly file: string };
  /** Policy sections present in the file: a kind whose section is absent is not judged. */
  readonly sections: readonly string[];
  /** `process.hrtime.bigint()` of the CLI when the run started, as a decimal string. */
  readonly t0: string;
  readonly batch_ms: number;
  readonly batch_events: number;
  /** How long a review may wait for a person, in ms. */
  readonly review_timeout_ms: number;
  /** `/configure` only: the run's `WARDEN_TRACE_CONFIG` value, for the children of the agent. */
  readonly handoff?: string;
  /**
   * Hand-over only: the run's spool (src/trace/spool.ts) as `<pid>:<fd>` or
   * `<pid>:<fd>:<bytes>` (a lower per-agent bound than `SPOOL_AGENT_MAX`), where an agent writes
   * its records instead of starting a flusher thread.
   */
  readonly spool?: string;
}

export interface ReadyRequest {
  readonly pid: number;
  readonly thread_id: number;
  readonly hooks_installed: readonly string[];
  readonly modules?: readonly string[];
}

export interface ChildReport {
  readonly parent_pid: number;
  readonly child_pid: number;
  readonly path: string;
  readonly argv: readonly string[];
  /** True when the agent put NODE_OPTIONS back after the caller dropped it. */
  readonly env_restored?: boolean;
}

export interface ReviewRequest {
  readonly event: TraceEvent;
}

export interface ReviewAnswer {
  readonly decision: "allow" | "deny";
  readonly why: "allowed" | "denied" | "timeout" | "no_tty";
}

export interface ShutdownRequest {
  readonly pid: number;
  readonly thread_id: number;
  /** Every event this agent posted; the CLI checks it received as many. */
  readonly events_sent: number;
}

export interface CommandAnswer {
  readonly command: "shutdown" | null;
}

/**
 * `POST /judge`: an agent that does not judge in-process (the Python agent) asks before the
 * call goes on. `fns`: function names a `python`/`nodejs` section may name; `op`: the
 * operation (src/trace/actions.ts), judged as the Node agent judges it in-process.
 */
export interface JudgeRequest {
  readonly pid: number;
  readonly runtime?: "python" | "nodejs";
  readonly fns?: readonly string[];
  readonly op?: JudgeOp;
  /** Several operations at once (the Python agent judges a folder's modules ahead of imports). */
  readonly ops?: readonly JudgeOp[];
}

export interface JudgeOp {
  readonly kind: string;
  readonly target: string;
  readonly port?: number;
  readonly method?: string;
  readonly argv?: readonly string[];
}

/** One answer of `/judge`: the verdict and, when a rule decided, the rule. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly rule?: string;
  readonly rule_id?: string;
  readonly reason?: string;
}

export interface JudgeAnswer {
  /** In the order of the request's `fns`; a name no rule names has no `rule`. */
  readonly fns?: readonly Judgement[];
  readonly op?: Judgement;
  /** In the order of the request's `ops`. */
  readonly ops?: readonly Judgement[];
}
