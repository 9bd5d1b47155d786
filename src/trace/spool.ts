/**
 * The spool: how a traced Node process reports to `warden run` without a thread of its own
 * (docs/trace.md, "Batching"). Starting the agent's flusher thread costs a short process more
 * than everything else it does traced (npm runs many of them), so until a process has spooled
 * `SPOOL_AGENT_MAX` bytes, or needs an answer (a review), its agent appends what it would have
 * posted (`/configure`, `/ready`, `/events`, `/child`, and at exit `/shutdown`) to this file,
 * synchronously, one record per write, and starts no thread at all.
 *
 * `warden run` creates the file (0600, in a fresh 0700 folder), keeps it open and removes the
 * name and the folder at once, as the hand-over (src/trace/handoff.ts): the agents open it
 * through `/proc/<pid>/fd/<fd>` (a process of the same user that may look into warden run's
 * descriptors; the same who may read the run's token in a traced process's environment), in
 * append mode. Each record is one write of `\n{"m":[[path, body], ...]}\n` (appends do not
 * interleave); the newline on both sides keeps a stray partial line (a program writing into the
 * file) from spoiling the records around it. warden run reads the file from where it stopped
 * (every `POLL_MS`, before each `/configure` it is posted, and while it drains): each line is
 * parsed by JSON.parse and each message checked as the same request over HTTP would be, then
 * handled in order. A process writes its records before it exits, so once warden run has seen
 * it gone and then read the file to its end, it has every record of it.
 */
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmdirSync,
  unlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChildReport,
  type ConfigureRequest,
  type ReadyRequest,
  type ShutdownRequest,
  SPOOL_RECORD_LIMIT,
  type TraceEvent,
} from "./protocol.js";
import type { TraceHandlers } from "./server.js";
import { checkBody } from "./shapes.js";

/** A record longer than this is not one an agent wrote: skipped. */
export const SPOOL_RECORD_MAX = 4 * SPOOL_RECORD_LIMIT;
/** How often warden run reads new records while the program runs (display). */
export const POLL_MS = 20;

/** What the spool says was wrong (records skipped), for the summary's trust. */
export interface SpoolStats {
  records: number;
  skipped: number;
  lastError: string | undefined;
}

export interface Spool {
  /** `ENV`-style value for the hand-over: `<pid>:<fd>`, or `<pid>:<fd>:<bytes>` (a lower per-agent bound). */
  readonly value: string;
  /** Where the file was before its name was removed (the strace layer sees opens of it as Warden's). */
  readonly path: string;
  readonly stats: SpoolStats;
  /** Read and handle every record written since the last read. */
  pull(): void;
  /** Read what is left, stop polling, close the file. */
  close(): void;
}

const CHUNK = 1024 * 1024;
const PATHS = new Set(["/configure", "/ready", "/events", "/child", "/shutdown"]);

/**
 * A spool for `h` (the run's session), polled every `POLL_MS` until closed; undefined where
 * there is no `/proc` to open it through (the agents then start their flusher threads).
 */
export function openSpool(h: TraceHandlers, opts: { agentMax?: number } = {}): Spool | undefined {
  if (process.platform !== "linux") return undefined;
  const dir = mkdtempSync(join(tmpdir(), "warden-spool-"));
  const path = join(dir, "spool");
  let fd: number;
  try {
    fd = openSync(path, "wx+", 0o600);
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // not created
    }
    rmdirSync(dir);
  }
  const stats: SpoolStats = { records: 0, skipped: 0, lastError: undefined };
  const buf = Buffer.allocUnsafe(CHUNK);
  let offset = 0;
  /** The start of a line not yet ended (bytes read after the last newline). */
  let tail: Buffer[] = [];
  let tailSize = 0;
  /** Skipping to the next newline (a line longer than SPOOL_RECORD_MAX). */
  let skipping = false;
  let pulling = false;
  let open = true;

  const line = (text: string) => {
    if (text.trim() === "") return;
    const err = applyRecord(h, text);
    if (err === undefined) stats.records++;
    else {
      stats.skipped++;
      stats.lastError = err;
    }
  };

  const pull = () => {
    if (!open || pulling) return;
    pulling = true;
    try {
      for (;;) {
        const size = fstatSync(fd).size;
        // Made shorter by someone else (truncated): what was lost is lost; go on from its end.
        if (size < offset) {
          offset = size;
          tail = [];
          tailSize = 0;
          stats.skipped++;
          stats.lastError = "the spool was truncated";
        }
        if (size === offset) return;
        const n = readSync(fd, buf, 0, Math.min(CHUNK, size - offset), offset);
        if (n <= 0) return;
        offset += n;
        let start = 0;
        for (let nl = buf.indexOf(10, 0); nl !== -1 && nl < n; nl = buf.indexOf(10, start)) {
          if (skipping) skipping = false;
          else if (tailSize === 0) line(buf.toString("utf8", start, nl));
          else {
            tail.push(buf.subarray(start, nl));
            line(Buffer.concat(tail).toString("utf8"));
          }
          tail = [];
          tailSize = 0;
          start = nl + 1;
        }
        if (start < n && !skipping) {
          tailSize += n - start;
          if (tailSize > SPOOL_RECORD_MAX) {
            skipping = true;
            tail = [];
            tailSize = 0;
            stats.skipped++;
            stats.lastError = `a record over ${SPOOL_RECORD_MAX} bytes`;
          } else tail.push(Buffer.from(buf.subarray(start, n)));
        }
      }
    } finally {
      pulling = false;
    }
  };

  const timer = setInterval(pull, POLL_MS);
  timer.unref();
  return {
    value: `${process.pid}:${fd}${opts.agentMax === undefined ? "" : `:${opts.agentMax}`}`,
    path,
    stats,
    pull,
    close: () => {
      if (!open) return;
      pull();
      clearInterval(timer);
      open = false;
      closeSync(fd);
    },
  };
}

/**
 * Handle one record (`{"m":[[path, body], ...]}`): every message checked first, as over HTTP,
 * then handled in order; the reason when the record is not taken.
 */
export function applyRecord(h: TraceHandlers, text: string): string | undefined {
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  const m = (rec as { m?: unknown } | null)?.m;
  if (!Array.isArray(m)) return "a record needs m, a list of [path, body]";
  for (const x of m) {
    if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== "string" || !PATHS.has(x[0]))
      return "each message is [path, body] with a path the spool takes";
    const bad = checkBody(x[0], x[1]);
    if (bad !== undefined) return `${x[0]}: ${bad.error}`;
  }
  for (const [path, body] of m as [string, unknown][]) {
    switch (path) {
      case "/configure":
        h.configure(body as ConfigureRequest);
        break;
      case "/ready":
        h.ready(body as ReadyRequest);
        break;
      case "/events":
        // Nothing to hold: the process wrote its records and went on (the file is the buffer).
        void h.events(body as TraceEvent[]);
        break;
      case "/child":
        h.child(body as ChildReport);
        break;
      case "/shutdown":
        h.shutdown(body as ShutdownRequest);
        break;
    }
  }
  return undefined;
}
