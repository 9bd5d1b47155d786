import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { type ArgumentBounds, boundArguments, DEFAULT_BOUNDS } from "./audit-bound.js";
import type { McpCode } from "./codes.js";
import type { ArgumentsMode, AuditConfig, AuditLevel } from "./config-types.js";

/**
 * `decision`: a call was judged (allowed and forwarded, or denied); `outcome`: a forwarded call
 * ended (answered, error, denied answer, cancelled, failed, cut off); `event`: a note that is not
 * a call's own line (a guard's trail, a guards reload).
 */
export type AuditPhase = "decision" | "outcome" | "event";

/** How a forwarded call ended (docs/audit.md, "Outcomes"). */
export type AuditOutcome = "answered" | "error" | "denied" | "cancelled" | "failed" | "cut_off";

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
  kind?: "guard" | "guards_reload" | "passthrough";
  /** kind passthrough: who sent the message the gateway passed on unjudged (or answered itself). */
  from?: "client" | "upstream";
  /** kind guard: each guard's verdict and time. */
  guards?: readonly unknown[];
  /** kind guards_reload: what triggered it. */
  trigger?: string;
  /**
   * A refusal's decision line: the code of docs/errors.md its sender was answered with
   * (message_invalid, id_unsafe, ...); kind guards_reload: the error code of a rejected set.
   */
  code?: string;
}

/** What a session fills in (time, session, caller and a fresh call_id are added). */
export type AuditEntry = Omit<AuditRecord, "time" | "session" | "caller" | "client" | "call_id"> & {
  call_id?: string;
};

/**
 * A message refused before it could be judged, at a front (not JSON, not JSON-RPC, too deep, too
 * large) or in a session (lifecycle, unsafe id, no id, bad params, unknown target): what its
 * decision line says (docs/audit.md, "Refusals").
 */
export interface Refusal {
  /** The refused message's method (see `methodOf`). */
  method: string;
  code: McpCode;
  /** Why, as its sender was told. */
  reason: string;
  /** The tool, prompt, resource or task it named, if any. */
  name?: string;
}

/** A Refusal (`code` is read by the error-code scan at each call). */
export function refusal(method: string, code: McpCode, reason: string, name?: string): Refusal {
  return name === undefined ? { method, code, reason } : { method, code, reason, name };
}

/** What a refused message's audit line says when it had no method (not JSON, a batch, an answer). */
export const NO_METHOD = "-";
const MAX_TEXT = 500;

const bounded = (s: string) => (s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT)}<…>`);

/** The method of a parsed message, bounded, for a refusal's line; NO_METHOD when it has none. */
export function methodOf(v: unknown): string {
  const m = (v as { method?: unknown } | null)?.method;
  return typeof m === "string" && m !== "" ? bounded(m) : NO_METHOD;
}

/** The decision line of a refusal (time, session, caller and call_id are added by the writer). */
export function refusalEntry(r: Refusal): AuditEntry {
  const rec: AuditEntry = {
    phase: "decision",
    upstream: null,
    method: bounded(r.method),
    decision: "deny",
    reason: bounded(r.reason),
    code: r.code,
    duration_ms: 0,
  };
  if (r.name !== undefined) rec.name = bounded(r.name);
  return rec;
}

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

/**
 * Append-only JSON-lines writer. Lines are buffered and written with one synchronous write
 * per event-loop turn, so a signal handler can flush everything (`flush`) before exit, and
 * `reopen` (on SIGHUP) starts a new file after rotation.
 */
export class AuditLog {
  readonly file: string;
  readonly argsMode: ArgumentsMode;
  readonly bounds: ArgumentBounds;
  /** audit.level: `calls` (judged calls and refusals) or `all` (and what passes unjudged). */
  readonly level: AuditLevel;
  #fd: number;
  #buf: string[] = [];
  #scheduled = false;
  #closed = false;
  written = 0;

  constructor(cfg: AuditConfig) {
    this.file = cfg.file;
    this.argsMode = cfg.arguments;
    this.level = cfg.level ?? "calls";
    this.bounds = {
      maxDepth: cfg.maxDepth ?? DEFAULT_BOUNDS.maxDepth,
      maxBytes: cfg.maxBytes ?? DEFAULT_BOUNDS.maxBytes,
    };
    this.#fd = this.#open();
  }

  #open(): number {
    if (this.file === "-") return 2;
    mkdirSync(dirname(this.file), { recursive: true });
    return openSync(this.file, "a");
  }

  /** The arguments to record (as configured, bounded); spread into a record. */
  args(v: unknown): Pick<AuditRecord, "arguments" | "arguments_truncated"> {
    if (this.argsMode === "omit") return {};
    const b = boundArguments(v, this.argsMode, this.bounds);
    return b.truncated ? { arguments: b.value, arguments_truncated: true } : { arguments: b.value };
  }

  write(rec: AuditRecord): void {
    if (this.#closed) return;
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      // Never drop a line: without what could not be serialized.
      line = JSON.stringify({
        ...rec,
        arguments: "<…unserializable>",
        arguments_truncated: true,
        guards: undefined,
      });
    }
    this.#buf.push(`${line}\n`);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write every buffered line now (synchronously). */
  flush(): void {
    this.#scheduled = false;
    if (this.#buf.length === 0 || this.#closed) return;
    const data = this.#buf.join("");
    const n = this.#buf.length;
    this.#buf = [];
    writeSync(this.#fd, data);
    this.written += n;
  }

  /** Close and open the file again (after logrotate moved it). */
  reopen(): void {
    this.flush();
    if (this.file === "-") return;
    const old = this.#fd;
    this.#fd = this.#open();
    closeSync(old);
  }

  close(): void {
    this.flush();
    this.#closed = true;
    if (this.file !== "-") {
      try {
        fsyncSync(this.#fd);
      } catch {}
      closeSync(this.#fd);
    }
  }
}
