/**
 * What the WASI host reports about its host calls. The host runs inside the component's worker
 * thread; it hands each event to the `emit` function it was given (`WasiHostOptions.emit`), and
 * the worker posts it to the main thread, which writes the audit line and counts it for
 * /metrics. Events are plain, structured-clone-safe objects (strings, numbers, plain objects),
 * so `postMessage` carries them as they are.
 */
import type { DecisionCode } from "../../policy/types.js";

/** One judged host call (a crossing between the component and the host). */
export interface WasiCallEvent {
  readonly type: "wasi.call";
  /** The component (the `source` of the core `Call`). */
  readonly component: string;
  /** The WASI interface, e.g. `wasi:filesystem/types` (the `target` of the core `Call`). */
  readonly interface: string;
  /** The host function, e.g. `[method]descriptor.open-at` as WIT names it. */
  readonly function: string;
  readonly decision: "allow" | "deny";
  /** The policy's decision code, or `host` when the host itself refused (see docs/hosted-tools.md). */
  readonly code: DecisionCode | "host";
  /** `file:line` of the deciding rule, when a rule decided. */
  readonly rule?: string;
  /** The deciding rule's key path (`storage.allow[0]`). */
  readonly rule_id?: string;
  /** One sentence: what was refused and why. */
  readonly reason?: string;
  /** What to add to the policy to allow it (a default deny only). */
  readonly hint?: string;
  /** The policy action as it was asked (the canonical, resolved path or host). */
  readonly action?: unknown;
  /** The WASI error the component got back (`access`, `HTTP-request-denied`, ...). */
  readonly wasi_error?: string;
  /** `get-environment`: the keys that exist in the host's environment but no policy allows. */
  readonly hidden?: readonly string[];
  /** Which strategy decided (`policy`, a firewall's name...). */
  readonly by?: string;
  /** Time spent judging (and, when allowed and timed, running) the call, in nanoseconds. */
  readonly duration_ns: number;
}

export type WasiHostEvent = WasiCallEvent;

/** Where events go; the worker side of the seam posts them to the main thread. */
export type EmitHostEvent = (event: WasiHostEvent) => void;
