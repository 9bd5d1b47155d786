/**
 * Whether the machine has no core to spare for polling: its load average (one minute) is at
 * least its number of cores. Read at most once a second (a read of /proc/loadavg).
 *
 * Polling for another thread's message pays only with a core free for it. On a busy machine a
 * polling thread takes CPU from the threads that do the work: a woken thread waits for a core,
 * and the kernel's group scheduling (autogroup) shares one budget between a session's threads,
 * so a poll in one thread of the serve process slows its own worker, its shim's I/O worker
 * and the client started in the same session. The pool and its workers then sleep in
 * `Atomics.wait` instead (one futex wake, no CPU while waiting).
 */
import { availableParallelism, loadavg } from "node:os";

const CORES = availableParallelism();
let until = 0;
let busy = false;

export function machineBusy(now = performance.now()): boolean {
  if (now < until) return busy;
  until = now + 1000;
  busy = (loadavg()[0] ?? 0) >= CORES;
  return busy;
}
