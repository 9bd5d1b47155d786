/**
 * The component worker thread's entry point (see ./run.ts and ../pool.ts).
 *
 * Messages from the pool arrive on the worker's port. Between calls the worker stays hot for a
 * while: it waits in `Atomics.wait` on the shared board's request counter (a short bounded spin
 * first) and takes the next message itself with `receiveMessageOnPort`, so a call that follows
 * soon is started by one futex wake instead of a trip through the event loop. A worker that
 * sees nothing for `HOT_MS` goes back to its event loop (idle, no CPU), where the port's
 * listener takes messages as before. The order of messages is kept: the hot loop stops as soon
 * as the listener has been handed one.
 */
import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import { machineBusy } from "./busy.js";
import { StartedBoard, type ToMain, type ToWorker } from "./protocol.js";
import { startWorker } from "./run.js";

/** How long a worker waits hot (in `Atomics.wait`, no CPU) for the next call after one. */
const HOT_MS = 200;
/**
 * How long it polls first, at most (ms), when calls come that often: calls that follow one
 * another (a client calling in a loop, about one stdio round trip apart) find it running.
 * Calls further apart than this find it in `Atomics.wait` (one futex wake); it never polls
 * longer than twice the recent gap between calls, nor more than this after any call.
 */
const SPIN_MAX_MS = 2;
/** The least it polls (ms): a burst's next call. */
const SPIN_MIN_MS = 0.03;
/**
 * Polling pays only with a core to itself. A poll that finds itself descheduled (two reads of
 * the clock further apart than this, ms) means the machine's cores are all taken: it stops
 * polling for `CONTENDED_MS` (sleeping in Atomics.wait instead leaves the core to others).
 */
const PREEMPTED_MS = 0.2;
const CONTENDED_MS = 1000;
/**
 * Woken ahead of a request (the main thread saw it arrive on stdin and parses it now:
 * StartedBoard.prewake), the worker polls this long (ms) for its message, so the request finds
 * it running instead of asleep (a futex wake-up in a VM costs tens of µs or more).
 */
const AHEAD_MS = 1;

const port = parentPort;
if (port === null) throw new Error("hosted/worker/entry.js runs only as a worker thread");
const data = workerData as { started: SharedArrayBuffer; reply: MessagePort };
const board = new StartedBoard(data.started);
const reply = data.reply;
const handle = startWorker((m: ToMain) => {
  if (m.type === "done") board.finished();
  reply.postMessage(m);
  if (m.type === "done") board.replied();
}, board);

/** Messages handed to the listener and not started yet: the hot loop must not overtake them. */
let listened = 0;
/** The recent gap between one call's end and the next call (ms, a moving average). */
let gap = Number.POSITIVE_INFINITY;
/** No polling before this (performance.now()): the last poll was descheduled. */
let contendedUntil = 0;

function sawGap(ms: number): void {
  gap = gap === Number.POSITIVE_INFINITY ? ms : gap * 0.75 + ms * 0.25;
}

/** Take the pool's next messages directly while they come soon after one another. */
async function hot(): Promise<void> {
  const seq = board.seq;
  let last = performance.now();
  /** Poll until then (performance.now()): woken ahead of a request. */
  let ahead = 0;
  for (;;) {
    if (listened > 0) return;
    const seen = Atomics.load(seq, 0);
    const r = receiveMessageOnPort(port as unknown as MessagePort);
    if (r !== undefined) {
      ahead = 0;
      const m = r.message as ToWorker;
      if (m.type === "call") sawGap(performance.now() - last);
      await handle(m);
      last = performance.now();
      continue;
    }
    const now = performance.now();
    if (now >= last + HOT_MS) {
      sawGap(HOT_MS);
      return;
    }
    // Woken ahead of requests (`warden serve` over stdio): no polling after a call beyond a
    // burst's next one. Between calls the client has its turn (it reads the answer, sends the
    // next request) and the main thread its own (it writes the answer, reads and parses the next
    // request): a worker polling then takes one of their cores. The request's arrival wakes it.
    const spin =
      gap <= SPIN_MAX_MS && !board.prewakes ? Math.min(SPIN_MAX_MS, 2 * gap) : SPIN_MIN_MS;
    const spinEnd = Math.max(last + spin, ahead);
    if (now < spinEnd && now >= contendedUntil && !machineBusy(now)) {
      let prev = now;
      while (Atomics.load(seq, 0) === seen) {
        const t = performance.now();
        if (t >= spinEnd) break;
        if (t - prev > PREEMPTED_MS) {
          contendedUntil = t + CONTENDED_MS;
          break;
        }
        prev = t;
      }
      continue;
    }
    // Asleep: the main thread may wake this worker ahead of a request (not when polling is off).
    board.waiting(now < contendedUntil ? 2 : 1);
    const woke = Atomics.wait(seq, 0, seen, last + HOT_MS - now);
    board.waiting(0);
    if (woke !== "timed-out") ahead = performance.now() + AHEAD_MS;
  }
}

// One call at a time: the pool sends the next only after `done`.
let queue: Promise<void> = Promise.resolve();
port.on("message", (m: ToWorker) => {
  listened++;
  queue = queue.then(async () => {
    listened--;
    await handle(m);
    if (m.type === "call") await hot();
  });
});
