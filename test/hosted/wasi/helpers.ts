/** Shared pieces of the WASI host tests: a host over a temporary tree, and its events. */
import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WasiCallEvent } from "../../../src/hosted/wasi/events.js";
import { createWasiHost, type WasiHostOptions } from "../../../src/hosted/wasi/host.js";

export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** A host and the events it emitted. */
export function hostWith(opts: Omit<WasiHostOptions, "emit">) {
  const events: WasiCallEvent[] = [];
  const host = createWasiHost({ ...opts, emit: (e) => events.push(e) });
  return { host, events };
}

/** What a guarded call threw: the WASI error value jco would hand the component. */
export function wasiError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    if (e !== null && typeof e === "object" && Object.hasOwn(e, "payload"))
      return (e as { payload: unknown }).payload;
    return e;
  }
  throw new Error("the call did not fail");
}
