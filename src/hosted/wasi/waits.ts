/**
 * Before a host call that may wait (a pollable's `block`, `poll`, a stream's blocking read,
 * write, flush or splice: preview2-shim waits for its I/O worker with Atomics.wait), the host
 * calls made so far in the tool call are sent to the main thread (the seam's `emit.flush`):
 * when the wait does not end and the call's deadline terminates the worker, those host calls
 * still reached the main thread, and their audit lines are written (a host call that reached
 * the host is never unaudited because its tool call was cut short).
 *
 * The shim's classes are shared by every component of the worker thread, so the wait hook is
 * put on their prototypes once, and calls the flush of the host created last (one worker has
 * one event batch; its components run one call at a time).
 */
import { poll as ioPoll, streams as ioStreams } from "@bytecodealliance/preview2-shim/io";

let flush: (() => void) | undefined;
let patched = false;

type Proto = Record<string, ((...a: unknown[]) => unknown) | undefined>;

function hook(proto: Proto, names: readonly string[]): void {
  for (const n of names) {
    const f = proto[n];
    if (typeof f !== "function") continue;
    proto[n] = function (this: unknown, ...a: unknown[]) {
      flush?.();
      return f.apply(this, a);
    };
  }
}

/** Flush `f` (the worker's event batch) before every wait from now on, in this thread. */
export function flushBeforeWaits(f: (() => void) | undefined): void {
  if (f === undefined) return;
  flush = f;
  if (patched) return;
  patched = true;
  const poll = ioPoll as unknown as { Pollable: { prototype: Proto } };
  const streams = ioStreams as unknown as {
    InputStream: { prototype: Proto };
    OutputStream: { prototype: Proto };
  };
  hook(poll.Pollable.prototype, ["block"]);
  hook(streams.InputStream.prototype, ["blockingRead", "blockingSkip"]);
  hook(streams.OutputStream.prototype, [
    "blockingWriteAndFlush",
    "blockingFlush",
    "blockingWriteZeroesAndFlush",
    "blockingSplice",
  ]);
}

/** `wasi:io/poll.poll`, flushing first. */
export function pollFlushed(list: unknown): unknown {
  flush?.();
  return (ioPoll as unknown as { poll(l: unknown): unknown }).poll(list);
}
