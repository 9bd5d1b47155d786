/**
 * What the WASI host reports about its host calls: the seam's one event shape
 * (`HostDecisionEvent`, ../host-seam.ts), handed to the `emit` function the host was given
 * (`WasiHostOptions.emit`). The worker batches them to the main thread, which writes the audit
 * line (kind `host_call`), counts them for /metrics and puts refusals in the tool's answer.
 */
import type { HostDecisionEvent } from "../host-seam.js";

/** One judged host call (a crossing between the component and the host). */
export type WasiCallEvent = HostDecisionEvent;

export type WasiHostEvent = WasiCallEvent;

/** Where events go; the worker side of the seam posts them to the main thread. */
export type EmitHostEvent = (event: WasiHostEvent) => void;

const TARGET_MAX = 512;

/** The judged target of a policy action, bounded: the path, the URL, `host:port`, the key. */
export function targetOf(action: unknown): string {
  if (action === null || typeof action !== "object") return "";
  const a = action as Record<string, unknown>;
  const port = typeof a.port === "number" ? `:${a.port}` : "";
  const t = String(a.uri ?? a.url ?? (a.host !== undefined ? `${a.host}${port}` : (a.key ?? "")));
  return t.length > TARGET_MAX ? `${t.slice(0, TARGET_MAX)}…` : t;
}
