/**
 * The traced thread's side of the agent's channel to `warden run`: events are batched here
 * (64, or whatever is waiting after 50 ms; up to `GROWN_BATCH` while the flusher is behind) and
 * handed to a flusher thread as UTF-8 bytes (the buffer is transferred, not copied) that posts
 * them; the
 * synchronous requests (configure, review, the last batch at exit) block this thread with
 * `Atomics.wait` until the flusher has the CLI's answer, which is read with
 * `receiveMessageOnPort`. Bounded: past `MAX_UNACKED` events the CLI has not acknowledged,
 * the traced thread waits (backpressure, as the seed's bounded channel).
 *
 * With the run's spool (src/trace/spool.ts) the flusher thread is not started until it is
 * needed: what would be posted is appended to the spool, one synchronous write per batch, up
 * to `SPOOL_AGENT_MAX` bytes (64 MiB: all of a large install's npm process), records of at most
 * `SPOOL_RECORD_LIMIT`; a short process (most of a package manager's) ends with one
 * record holding its last batch and `/shutdown`, without a thread. Past that bound, when the
 * spool is full or cannot be written, or for a request that needs an answer (a review), the
 * flusher starts and takes over; what was spooled is handled first (warden run reads the spool
 * before it handles the `/configure` the flusher posts first).
 */
import { closeSync, constants, fstatSync, openSync, writeSync } from "node:fs";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import {
  BATCH_EVENTS,
  BATCH_MS,
  SPOOL_AGENT_MAX,
  SPOOL_FILE_MAX,
  SPOOL_RECORD_LIMIT,
} from "../protocol.js";
import {
  FLUSHER_MARK,
  type FromFlusher,
  SLOT_ACKED,
  SLOT_ANSWERS,
  type ToFlusher,
} from "./wire.js";

/** Events posted but not yet acknowledged by the CLI before the traced thread waits. */
export const MAX_UNACKED = 65_536;
/** A batch's size while more than `BEHIND` events are unacknowledged (fewer hand-overs). */
export const GROWN_BATCH = 2048;
const BEHIND = 1024;

const ENCODER = new TextEncoder();
/**
 * Node's own functions, taken when this module loads, before the hooks replace them: the
 * agent's own flusher thread and spool writes are not the program's to judge or report.
 */
const NodeWorker = Worker;
const fsOpen = openSync;
const fsFstat = fstatSync;
const fsWrite = writeSync;
const fsClose = closeSync;

/** A message kept for the spool (or the flusher, once it starts), in order. */
type Pending =
  | { readonly t: "hello" | "ready" | "child"; readonly body: unknown }
  | { readonly t: "ev"; readonly json: string; readonly n: number };

const PATH = { hello: "/configure", ready: "/ready", child: "/child" } as const;

export class Channel {
  readonly #url: string;
  readonly #token: string;
  readonly #pid: number;
  readonly #threadId: number;
  readonly #shared = new Int32Array(new SharedArrayBuffer(8));
  #port: MessagePort | undefined;
  /** The spool's descriptor while this channel writes there (no flusher thread yet). */
  #spool: number | undefined;
  /** Bytes this channel spools at most (`SPOOL_AGENT_MAX`, or the lower bound handed over). */
  #spoolMax = SPOOL_AGENT_MAX;
  #spooled = 0;
  /** Messages not yet written to the spool (hello and ready wait for the first write). */
  #pending: Pending[] = [];
  /** The batch: events' JSON texts joined by commas; one string crosses to the flusher. */
  #batch = "";
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  /** Events that went through the spool (the flusher acknowledges only its own). */
  #spooledEvents = 0;
  #closed = false;
  /** Events per hand-over now: `batchEvents`, more under load (up to `GROWN_BATCH`). */
  #limit = BATCH_EVENTS;
  /** When the batch's first event came (`performance.now()`). */
  #first = 0;
  batchEvents = BATCH_EVENTS;
  batchMs = BATCH_MS;

  constructor(url: string, token: string, pid: number, threadId: number) {
    this.#url = url;
    this.#token = token;
    this.#pid = pid;
    this.#threadId = threadId;
  }

  /**
   * Write to the run's spool (`<pid>:<fd>[:<bytes>]` of warden run, from its hand-over) instead
   * of starting the flusher thread now; false (the thread started) when it cannot be opened.
   */
  useSpool(value: string | undefined): boolean {
    const m =
      value === undefined ? null : /^([1-9]\d{0,9}):(\d{1,9})(?::([1-9]\d{0,9}))?$/.exec(value);
    if (m !== null && this.#port === undefined) {
      if (m[3] !== undefined) this.#spoolMax = Math.min(SPOOL_AGENT_MAX, Number(m[3]));
      try {
        const fd = fsOpen(`/proc/${m[1]}/fd/${m[2]}`, constants.O_WRONLY | constants.O_APPEND);
        if (fsFstat(fd).isFile()) {
          this.#spool = fd;
          return true;
        }
        fsClose(fd);
      } catch {
        // not there: the flusher
      }
    }
    this.start();
    return false;
  }

  /** Start the flusher thread (once); what waits for the spool goes to it, in order. */
  start(): void {
    if (this.#port !== undefined) return;
    const { port1, port2 } = new MessageChannel();
    const worker = new NodeWorker(new URL("./flusher.js", import.meta.url), {
      workerData: {
        [FLUSHER_MARK]: true,
        url: this.#url,
        token: this.#token,
        pid: this.#pid,
        threadId: this.#threadId,
        port: port2,
        shared: this.#shared,
      },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    port1.unref();
    this.#port = port1;
    if (this.#spool !== undefined) {
      try {
        fsClose(this.#spool);
      } catch {
        // closed
      }
      this.#spool = undefined;
    }
    const pending = this.#pending;
    this.#pending = [];
    // The flusher registers over HTTP first (warden run then reads the spool: what this channel
    // spooled is handled before what follows); a hello spooled already is taken again as is.
    if (this.#hello !== undefined && !pending.some((p) => p.t === "hello"))
      port1.postMessage({ t: "hello", body: this.#hello } satisfies ToFlusher);
    for (const p of pending) {
      if (p.t === "ev") {
        const bytes = ENCODER.encode(p.json);
        port1.postMessage({ t: "ev", b: bytes, n: p.n } satisfies ToFlusher, [bytes.buffer]);
      } else port1.postMessage({ t: p.t, body: p.body } satisfies ToFlusher);
    }
  }

  /** The hello last notified (the flusher registers with it when it starts after the spool). */
  #hello: unknown;

  /** One event, as its JSON text (`EventJson`). */
  event(json: string): void {
    if (this.#closed) return;
    if (this.#count === 0) {
      this.#batch = json;
      this.#first = performance.now();
    } else this.#batch = `${this.#batch},${json}`;
    if (++this.#count >= this.#limit) this.flush(true);
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.batchMs);
      this.#timer.unref();
    }
  }

  /**
   * Hand the batch to the flusher; wait while too many events are unacknowledged. `full`: the
   * batch reached its size; filled at least as fast as `batchEvents` in a tenth of `batchMs`
   * (a burst, as a package manager's thousands of files, or a flood), the next one may be twice
   * as large, up to `GROWN_BATCH` (fewer hand-overs and posts), while its first event still
   * leaves within `batchMs` (the timer). A rate, not a time: a grown batch that takes longer to
   * fill at the same rate stays grown. Without the flusher: written to the
   * spool, with what waits before it.
   */
  flush(full = false): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const n = this.#count;
    if (n === 0 && (this.#port !== undefined || this.#pending.length === 0)) return;
    const burst =
      full && (performance.now() - this.#first) * this.batchEvents < (n * this.batchMs) / 10;
    const b = this.#batch;
    this.#batch = "";
    this.#count = 0;
    this.#sent += n;
    if (this.#port === undefined) {
      if (n > 0) this.#pending.push({ t: "ev", json: b, n });
      // A burst into the spool: fewer, larger writes (a record stays under SPOOL_RECORD_LIMIT,
      // else the flusher takes it), the first event of each still within `batchMs`.
      this.#limit = burst ? Math.min(this.#limit * 2, GROWN_BATCH) : this.batchEvents;
      if (!this.#spoolPending(undefined)) this.start();
      return;
    }
    const bytes = ENCODER.encode(b);
    this.#port.postMessage({ t: "ev", b: bytes, n } satisfies ToFlusher, [bytes.buffer]);
    const s = this.#shared;
    for (;;) {
      const acked = Atomics.load(s, SLOT_ACKED) + this.#spooledEvents;
      const unacked = this.#sent - acked;
      if (unacked <= MAX_UNACKED) {
        this.#limit =
          unacked > BEHIND
            ? GROWN_BATCH
            : burst
              ? Math.min(this.#limit * 2, GROWN_BATCH)
              : this.batchEvents;
        break;
      }
      Atomics.wait(s, SLOT_ACKED, acked - this.#spooledEvents, 1000);
    }
  }

  /**
   * Write what waits (and `last`, the `/shutdown`) to the spool as one record; false when it
   * cannot (no spool, past its bounds, a failed write): then the flusher takes what waits.
   */
  #spoolPending(last: string | undefined): boolean {
    const fd = this.#spool;
    if (fd === undefined) return false;
    let rec = '\n{"m":[';
    let events = 0;
    for (let i = 0; i < this.#pending.length; i++) {
      const p = this.#pending[i]!;
      if (i > 0) rec += ",";
      if (p.t === "ev") {
        rec += `["/events",[${p.json}]]`;
        events += p.n;
      } else rec += `[${JSON.stringify(PATH[p.t])},${JSON.stringify(p.body)}]`;
    }
    if (last !== undefined) rec += `${this.#pending.length > 0 ? "," : ""}${last}`;
    rec += "]}\n";
    const bytes = Buffer.from(rec);
    if (bytes.length > SPOOL_RECORD_LIMIT || this.#spooled + bytes.length > this.#spoolMax)
      return false;
    try {
      if (fsFstat(fd).size + bytes.length > SPOOL_FILE_MAX) return false;
      // One write: appends of other processes do not interleave with it.
      if (fsWrite(fd, bytes) !== bytes.length) return false;
    } catch {
      return false;
    }
    this.#spooled += bytes.length;
    this.#spooledEvents += events;
    this.#pending = [];
    return true;
  }

  /** The batch into what waits for the spool (no flusher yet). */
  #takeBatch(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const n = this.#count;
    if (n === 0) return;
    this.#pending.push({ t: "ev", json: this.#batch, n });
    this.#sent += n;
    this.#batch = "";
    this.#count = 0;
  }

  /** Post without waiting (hello, ready, child reports): ordered after the events before it. */
  notify(t: "hello" | "ready" | "child", body: unknown): void {
    if (this.#closed) return;
    if (t === "hello") this.#hello = body;
    if (this.#port === undefined) {
      this.#takeBatch();
      this.#pending.push({ t, body });
      // hello waits for ready (one write at the start); a child is told now (the strace layer
      // matches its exec against it while it runs).
      if (t !== "hello" && !this.#spoolPending(undefined)) this.start();
      return;
    }
    this.flush();
    this.#port.postMessage({ t, body } satisfies ToFlusher);
  }

  /** A request the traced thread waits for (at most `timeoutMs`). */
  request(msg: ToFlusher, timeoutMs: number): FromFlusher {
    this.flush();
    this.start();
    const port = this.#port!;
    const s = this.#shared;
    port.postMessage(msg);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Read the counter before looking: an answer posted after the look changes it, so the
      // wait below returns at once instead of sleeping on an answer already there.
      const seen = Atomics.load(s, SLOT_ANSWERS);
      const got = receiveMessageOnPort(port);
      if (got !== undefined) return got.message as FromFlusher;
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, error: `no answer from warden run in ${timeoutMs} ms` };
      Atomics.wait(s, SLOT_ANSWERS, seen, Math.min(left, 1000));
    }
  }

  /**
   * At exit: the last batch, then `/shutdown` after it (the CLI counts this agent out). Without
   * the flusher: both in one spool record, and nothing to wait for.
   */
  close(timeoutMs: number): void {
    if (this.#closed) return;
    if (this.#port === undefined) {
      this.#takeBatch();
      const bye = `["/shutdown",${JSON.stringify({ pid: this.#pid, thread_id: this.#threadId, events_sent: this.#sent })}]`;
      if (this.#spoolPending(bye)) {
        this.#closed = true;
        return;
      }
      this.start();
    }
    this.flush();
    this.#closed = true;
    // Every event acknowledged first, for as long as the flusher makes progress: a process that
    // exits right after a burst (the flusher thread still starting, the CLI busy) would
    // otherwise end the thread with events in it. Only `timeoutMs` without progress gives up.
    const s = this.#shared;
    const base = this.#spooledEvents;
    let acked = Atomics.load(s, SLOT_ACKED);
    let until = Date.now() + timeoutMs;
    while (acked + base < this.#sent) {
      const left = until - Date.now();
      if (left <= 0) break;
      Atomics.wait(s, SLOT_ACKED, acked, Math.min(left, 1000));
      const now = Atomics.load(s, SLOT_ACKED);
      if (now !== acked) until = Date.now() + timeoutMs;
      acked = now;
    }
    this.request({ t: "bye", sent: this.#sent }, timeoutMs);
  }

  get sent(): number {
    return this.#sent;
  }
}
