/**
 * The traced thread's side of the agent's channel to `warden run`: events are batched here
 * (64, or whatever is waiting after 50 ms) and handed to a flusher thread that posts them; the
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
import type { PolicyDecision } from "../../policy/types.js";
import { BATCH_EVENTS, BATCH_MS } from "../protocol.js";
import {
  encodeEvent,
  FLUSHER_MARK,
  type FromFlusher,
  type RawEvent,
  SLOT_ACKED,
  SLOT_ANSWERS,
  type ToFlusher,
} from "./wire.js";

/** Events posted but not yet acknowledged by the CLI before the traced thread waits. */
export const MAX_UNACKED = 65_536;

export class Channel {
  readonly #port: MessagePort;
  readonly #shared: Int32Array;
  readonly #worker: Worker;
  /** The batch, encoded (`encodeEvent`): one string crosses to the flusher, not objects. */
  #batch = "";
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #closed = false;
  #decisions = new Map<PolicyDecision, number>();
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

  /** The id of a decision in the flusher's table (sent the first time). */
  decisionId(d: PolicyDecision): number {
    let id = this.#decisions.get(d);
    if (id === undefined) {
      id = this.#decisions.size;
      this.#decisions.set(d, id);
      this.#post({
        t: "dec",
        d: { id, rule: d.rule, rule_id: d.ruleId, reason: d.reason },
      });
    }
    return id;
  }

  event(e: RawEvent): void {
    if (this.#closed) return;
    this.#batch += encodeEvent(e);
    if (++this.#count >= this.batchEvents) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.batchMs);
      this.#timer.unref();
    }
  }

  /** Hand the batch to the flusher; wait while too many events are unacknowledged. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const n = this.#count;
    if (n === 0) return;
    const b = this.#batch;
    this.#batch = "";
    this.#count = 0;
    this.#sent += n;
    this.#post({ t: "ev", b });
    const s = this.#shared;
    for (;;) {
      const acked = Atomics.load(s, SLOT_ACKED);
      if (this.#sent - acked <= MAX_UNACKED) break;
      Atomics.wait(s, SLOT_ACKED, acked, 1000);
    }
  }

  /** Post without waiting (ready, child reports): ordered after the events before it. */
  notify(t: "ready" | "child", body: unknown): void {
    if (this.#closed) return;
    this.flush();
    this.#post({ t, body });
  }

  /** A request the traced thread waits for (at most `timeoutMs`). */
  request(msg: ToFlusher, timeoutMs: number): FromFlusher {
    const s = this.#shared;
    const before = Atomics.load(s, SLOT_ANSWERS);
    this.#post(msg);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.#port);
      if (got !== undefined) return got.message as FromFlusher;
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, error: `no answer from warden run in ${timeoutMs} ms` };
      Atomics.wait(s, SLOT_ANSWERS, Atomics.load(s, SLOT_ANSWERS), Math.min(left, 1000));
      void before;
    }
  }

  /** At exit: the last batch, then `/shutdown` after it (the CLI counts this agent out). */
  close(timeoutMs: number): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.request({ t: "bye", sent: this.#sent }, timeoutMs);
  }

  get sent(): number {
    return this.#sent;
  }

  #post(m: ToFlusher): void {
    this.#port.postMessage(m);
  }
}
