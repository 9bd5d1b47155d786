import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { type ArgumentBounds, boundArguments, DEFAULT_BOUNDS } from "./bound.js";
import type { ArgumentsMode, AuditConfig, AuditLevel, AuditRecord } from "./record.js";

/**
 * Append-only JSON-lines writer. Lines are buffered and written with one synchronous write
 * per event-loop turn, so a signal handler can flush everything (`flush`) before exit, and
 * `reopen` (on SIGHUP) starts a new file after rotation. `AuditLog.recordsOnly()` writes no file:
 * its records only go to `onrecord` (telemetry.otlp without an audit section).
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
  /** Hears each line as it is buffered, without its newline (the gateway's recent decisions). */
  onwrite: ((line: string) => void) | undefined;
  /**
   * Hears each record as it is written (the gateway's OpenTelemetry spans); `open`: a decision
   * line whose outcome line follows. What it returns (trace headers for the call's upstream
   * request) `write` returns.
   */
  onrecord: ((rec: AuditRecord, open: boolean) => string[] | undefined) | undefined;

  /** No file: records only go to `onrecord` (arguments are not recorded). */
  static recordsOnly(): AuditLog {
    return new AuditLog({ file: "", arguments: "omit" }, true);
  }

  /** `memory`: no file (see recordsOnly). */
  constructor(
    cfg: AuditConfig,
    readonly memory = false,
  ) {
    this.file = cfg.file;
    this.argsMode = cfg.arguments;
    this.level = cfg.level ?? "calls";
    this.bounds = {
      maxDepth: cfg.maxDepth ?? DEFAULT_BOUNDS.maxDepth,
      maxBytes: cfg.maxBytes ?? DEFAULT_BOUNDS.maxBytes,
    };
    this.#fd = memory ? -1 : this.#open();
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

  write(rec: AuditRecord, open = false): string[] | undefined {
    if (this.#closed) return undefined;
    if (this.memory) return this.onrecord?.(rec, open);
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
    this.onwrite?.(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return this.onrecord?.(rec, open);
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
    if (this.file === "-" || this.memory) return;
    const old = this.#fd;
    this.#fd = this.#open();
    closeSync(old);
  }

  close(): void {
    this.flush();
    this.#closed = true;
    if (this.file !== "-" && !this.memory) {
      try {
        fsyncSync(this.#fd);
      } catch {}
      closeSync(this.#fd);
    }
  }
}
