/**
 * The audit record: one line shape for every place Warden judges a call (docs/audit.md,
 * audit.schema.json). Below the layers that write it (mcp today, trace next), so both write the
 * same lines with the same writer (writer.ts).
 */
import { randomUUID } from "node:crypto";
import { boundArguments, DEFAULT_BOUNDS } from "./bound.js";

export type ArgumentsMode = "redacted" | "full" | "omit";

/**
 * audit.level: `calls` (default) writes a line for every judged call, its outcome and every
 * refused message; `all` also one for each message passed on unjudged (notifications both
 * ways, ping, server-to-client requests and their answers): see docs/audit.md.
 */
export type AuditLevel = "calls" | "all";

export interface AuditConfig {
  /** A file path, or "-" for stderr. */
  readonly file: string;
  readonly arguments: ArgumentsMode;
  /** Bounds of the recorded arguments (default 8 levels, 8192 characters; docs/audit.md). */
  readonly maxDepth?: number;
  readonly maxBytes?: number;
  /** What gets a line (default "calls"). */
  readonly level?: AuditLevel;
}

/**
 * `decision`: a call was judged (allowed and forwarded, or denied); `outcome`: a forwarded call
 * ended (answered, error, denied answer, cancelled, failed, cut off); `event`: a note that is not
 * a call's own line (a guard's trail, a guards reload).
 */
export type AuditPhase = "decision" | "outcome" | "event";

/** How a forwarded call ended (docs/audit.md, "Outcomes"). */
export type AuditOutcome =
  | "answered"
  | "error"
  | "denied"
  | "cancelled"
  | "timeout"
  | "failed"
  | "cut_off";

/** One line of the audit log; the one shape every line has (docs/audit.md, audit.schema.json). */
export interface AuditRecord {
  time: string;
  /** One per judged call: its decision line and its outcome line share it. */
  call_id: string;
  phase: AuditPhase;
  /** Who made the call (null on gateway-wide events). */
  caller: string | null;
  /** The clientInfo `name@version` the client sent (self-chosen: informative only). */
  client?: string;
  session: string | null;
  upstream: string | null;
  method: string;
  /** The tool, prompt or resource URI (as the client sees it), when there is one. */
  name?: string;
  decision: "allow" | "deny";
  outcome?: AuditOutcome;
  rule?: string;
  /** The deciding policy rule's key path (`mcp.tools.deny[1]`), beside its `file:line`. */
  rule_id?: string;
  reason?: string;
  /** decision: from the request to the verdict; outcome: from the request to its end. */
  duration_ms: number;
  /** On decision lines, as configured: redacted (default), full or omitted; always bounded. */
  arguments?: unknown;
  /** Present (true) when the arguments were cut to their bounds. */
  arguments_truncated?: true;
  /** For lists and roots: the names the policy hid. */
  hidden?: string[];
  /** outcome `error` or `failed`: the JSON-RPC error (message bounded). */
  error?: { code: number; message: string };
  /** event lines: what they note. */
  kind?:
    | "guard"
    | "guards_reload"
    | "passthrough"
    | "host_call"
    | "component_reload"
    | "pin_approval"
    | "task_refused";
  /** kind passthrough: who sent the message the gateway passed on unjudged (or answered itself). */
  from?: "client" | "upstream";
  /** kind guard: each guard's verdict and time. */
  guards?: readonly unknown[];
  /** kind host_call: the host call a hosted component made during the tool call `call_id` names. */
  host?: HostCallDetail;
  /** kind guards_reload: what triggered it. */
  trigger?: string;
  /**
   * A refusal's decision line: the code of docs/errors.md its sender was answered with
   * (message_invalid, id_unsafe, ...); kind guards_reload: the error code of a rejected set.
   */
  code?: string;
  /**
   * `warden run`'s lines: the verdict on the lattice (block, review, warn, display, suppress,
   * allow) that `decision` sums up as allow or deny.
   */
  verdict?: "allow" | "suppress" | "display" | "warn" | "review" | "block";
}

/** kind host_call: a component's host call (a crossing judged by the policy, docs/hosted-tools.md). */
export interface HostCallDetail {
  /** The component that made it. */
  component: string;
  /** The WASI interface (`wasi:filesystem/types`). */
  interface: string;
  /** The host function as WIT names it (`[method]descriptor.open-at`). */
  function: string;
  /** What it asked for, bounded: the resolved path, the URL, `host:port`, the env key. */
  target?: string;
  /** The policy's decision code (`no_rule`, `deny_rule`, ...), or `host` when the host itself refused. */
  code?: string;
  /** The WASI error the component got back. */
  wasi_error?: string;
  /** What to add to the policy to allow it. */
  hint?: string;
  /** Environment keys hidden from the component. */
  hidden?: string[];
  /** Past the per-call bound: how many such calls this one line stands for. */
  count?: number;
}

/** What a session fills in (time, session, caller and a fresh call_id are added). */
export type AuditEntry = Omit<AuditRecord, "time" | "session" | "caller" | "client" | "call_id"> & {
  call_id?: string;
};

/** A fresh call id (UUID v4). */
export function newCallId(): string {
  return randomUUID();
}

/** Every leaf replaced by its type (strings by their length), within the default bounds. */
export function redact(v: unknown): unknown {
  return boundArguments(v, "redacted", DEFAULT_BOUNDS).value;
}

/** An error for the `error` field: its code and a message of at most 500 characters. */
export function auditError(e: { code: number; message: string }): {
  code: number;
  message: string;
} {
  const message = typeof e.message === "string" ? e.message : String(e.message);
  return {
    code: typeof e.code === "number" ? e.code : 0,
    message: message.length <= 500 ? message : `${message.slice(0, 500)}<…>`,
  };
}
