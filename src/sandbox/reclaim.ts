/**
 * Give a discarded instance's linear memory back to the OS. V8 frees a wasm memory only when
 * its object is collected, and it does not count the grown pages as GC pressure, so a plugin
 * that grows to its limit again and again (a grow bomb, with fresh instances) could hold many
 * limits' worth of RSS until the next full GC. After discarding an instance whose memory grew by
 * at least RECLAIM_BYTES, the sandbox asks for a full GC. `global.gc` is used when the host
 * runs with --expose-gc; otherwise the flag is set for a new context only (node:vm), which
 * leaves the host's own global object unchanged.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export const RECLAIM_BYTES = 32 * 1024 * 1024;

let gc: (() => void) | null | undefined;

export function reclaim(): void {
  if (gc === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === "function") gc = g;
    else {
      try {
        setFlagsFromString("--expose-gc");
        gc = runInNewContext("gc") as () => void;
      } catch {
        gc = null;
      }
    }
  }
  gc?.();
}
