import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { ArgumentsMode, AuditConfig } from "./config-types.js";

/** One line of the audit log: one decision (see docs/gateway.md, "Audit"). */
export interface AuditRecord {
  time: string;
  session: string;
  client: string;
  upstream: string | null;
  method: string;
  /** The tool, prompt or resource URI (as the client sees it), when there is one. */
  target?: string;
  decision: "allow" | "deny";
  rule?: string;
  reason?: string;
  /** Milliseconds from the request to its answer (the answer of the upstream, or the denial). */
  duration_ms: number;
  /** Arguments as configured: redacted (shape only, default), full, or omitted. */
  args?: unknown;
  /** For lists: the names the policy hid. */
  hidden?: string[];
  /** For answered calls: true when the upstream answered with an error or isError. */
  error?: boolean;
}

/** Replace every leaf with its type (and length), keeping the structure. */
export function redact(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === "string") return `<string:${v.length}>`;
  if (typeof v === "number" || typeof v === "boolean") return `<${typeof v}>`;
  if (depth > 4) return "<…>";
  if (Array.isArray(v))
    return v.length > 8 ? `<array:${v.length}>` : v.map((x) => redact(x, depth + 1));
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redact(x, depth + 1);
    return out;
  }
  return `<${typeof v}>`;
}

/**
 * Append-only JSON-lines writer. Lines are buffered and written with one synchronous write
 * per event-loop turn, so a signal handler can flush everything (`flush`) before exit, and
 * `reopen` (on SIGHUP) starts a new file after rotation.
 */
export class AuditLog {
  readonly file: string;
  readonly argsMode: ArgumentsMode;
  #fd: number;
  #buf: string[] = [];
  #scheduled = false;
  #closed = false;
  written = 0;

  constructor(cfg: AuditConfig) {
    this.file = cfg.file;
    this.argsMode = cfg.arguments;
    this.#fd = this.#open();
  }

  #open(): number {
    if (this.file === "-") return 2;
    mkdirSync(dirname(this.file), { recursive: true });
    return openSync(this.file, "a");
  }

  args(v: unknown): unknown {
    if (this.argsMode === "omit") return undefined;
    return this.argsMode === "full" ? v : redact(v);
  }

  write(rec: AuditRecord): void {
    if (this.#closed) return;
    this.#buf.push(`${JSON.stringify(rec)}\n`);
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
