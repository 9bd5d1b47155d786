/**
 * The traced thread's side of the agent's channel to `warden run`: events are batched here
 * (64, or whatever is waiting after 50 ms; up to `GROWN_BATCH` while the flusher is behind) and
 * handed to a flusher thread as UTF-8 bytes (the buffer is transferred, not copied) that posts
 * them; the
 * synchronous requests (configure, review, the last batch at exit) block this thread with
 * `Atomics.wait` until the flusher has the CLI's answer, which is read with
 * `receiveMessageOnPort`. Bounded: past `MAX_UNACKED` events the CLI has not acknowledged,
 * the traced thread waits (backpressure, as the seed's bounded channel).
 */
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { BATCH_EVENTS, BATCH_MS } from "../protocol.js";
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

export class Channel {
  readonly #port: MessagePort;
  readonly #shared: Int32Array;
  readonly #worker: Worker;
  /** The batch: events' JSON texts joined by commas; one string crosses to the flusher. */
  #batch = "";
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #closed = false;
  /** Events per hand-over now: `batchEvents`, more under load (up to `GROWN_BATCH`). */
  #limit = BATCH_EVENTS;
  /** When the batch's first event came (`performance.now()`). */
  #first = 0;
  batchEvents = BATCH_EVENTS;
  batchMs = BATCH_MS;

  constructor(url: string, token: string, pid: number, threadId: number) {
    const { port1, port2 } = new MessageChannel();
    this.#shared = new Int32Array(new SharedArrayBuffer(8));
    this.#worker = new Worker(new URL("./flusher.js", import.meta.url), {
      workerData: {
        [FLUSHER_MARK]: true,
        url,
        token,
        pid,
        threadId,
        port: port2,
        shared: this.#shared,
      },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    this.#worker.unref();
    port1.unref();
    this.#port = port1;
  }

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
   * batch reached its size; filled in under a tenth of `batchMs`, the next one may be twice as
   * large (a burst, as a package manager's thousands of files: fewer hand-overs and posts),
   * while its first event still leaves within `batchMs`.
   */
  flush(full = false): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const n = this.#count;
    if (n === 0) return;
    const burst = full && performance.now() - this.#first < this.batchMs / 10;
    const b = this.#batch;
    this.#batch = "";
    this.#count = 0;
    this.#sent += n;
    const bytes = ENCODER.encode(b);
    this.#port.postMessage({ t: "ev", b: bytes, n } satisfies ToFlusher, [bytes.buffer]);
    const s = this.#shared;
    for (;;) {
      const acked = Atomics.load(s, SLOT_ACKED);
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
      Atomics.wait(s, SLOT_ACKED, acked, 1000);
    }
  }

  /** Post without waiting (hello, ready, child reports): ordered after the events before it. */
  notify(t: "hello" | "ready" | "child", body: unknown): void {
    if (this.#closed) return;
    this.flush();
    this.#post({ t, body });
  }

  /** A request the traced thread waits for (at most `timeoutMs`). */
  request(msg: ToFlusher, timeoutMs: number): FromFlusher {
    const s = this.#shared;
    this.#post(msg);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Read the counter before looking: an answer posted after the look changes it, so the
      // wait below returns at once instead of sleeping on an answer already there.
      const seen = Atomics.load(s, SLOT_ANSWERS);
      const got = receiveMessageOnPort(this.#port);
      if (got !== undefined) return got.message as FromFlusher;
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, error: `no answer from warden run in ${timeoutMs} ms` };
      Atomics.wait(s, SLOT_ANSWERS, seen, Math.min(left, 1000));
    }
  }

  /** At exit: the last batch, then `/shutdown` after it (the CLI counts this agent out). */
  close(timeoutMs: number): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    // Every event acknowledged first, for as long as the flusher makes progress: a process that
    // exits right after a burst (the flusher thread still starting, the CLI busy) would
    // otherwise end the thread with events in it. Only `timeoutMs` without progress gives up.
    const s = this.#shared;
    let acked = Atomics.load(s, SLOT_ACKED);
    let until = Date.now() + timeoutMs;
    while (acked < this.#sent) {
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

  #post(m: ToFlusher): void {
    this.#port.postMessage(m);
  }
}
