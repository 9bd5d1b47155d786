/** Messages between the main thread (../pool.ts) and a component worker (./run.ts). */
import type { LimitsInput } from "../../sandbox/limits.js";
import type { EventsMessage } from "../event-batch.js";
import type { WorkerHostOptions } from "../host-seam.js";
import type { ToolCallSpec } from "../tools.js";

/**
 * - `per-call` (default): every call starts from the instance's image (reset after each call);
 * - `per-session`: one instance per MCP session, kept across that session's calls, dropped when
 *   the session ends (for components that cannot be reset safely, or keep a session's state);
 * - `stateful`: one instance for everyone, kept across calls.
 */
export type InstanceMode = "per-call" | "per-session" | "stateful";
export const INSTANCE_MODES: readonly InstanceMode[] = ["per-call", "per-session", "stateful"];

/** Everything a worker needs to instantiate a component (sent once per worker, before calls). */
export interface ComponentSpec {
  readonly key: string;
  readonly host: WorkerHostOptions;
  /** The transpiled glue and its folder (the shared cache). */
  readonly jsPath: string;
  readonly dir: string;
  readonly limits: LimitsInput;
  /** Where instrumented core modules are cached (default: the sandbox's). */
  readonly cacheDir?: string;
  /** Which instance a call runs in and whether it is reset after it (see InstanceMode). */
  readonly instance: InstanceMode;
  readonly tools: readonly ToolCallSpec[];
}

/**
 * A slot's shared board (one SharedArrayBuffer per worker):
 * - the worker writes the id of the call it started and when (Date.now()), so the main thread
 *   enforces the call's deadline from outside without a message per call;
 * - two counters wake the other side without its event loop: the main thread bumps `requests`
 *   after each message it posts (a worker waiting hot, in `Atomics.wait`, takes the message
 *   at once with `receiveMessageOnPort`), the worker bumps `replies` after each call's `done`
 *   (the main thread may wait for a short call the same way: ../pool.ts);
 * - a request may come ahead of its message (`prewake`: a request arrived on stdin, its message
 *   follows once the SDK has parsed and validated it): a worker woken so polls a short while
 *   for it; a worker whose polls are being descheduled says so (`hot`), and is not woken ahead.
 */
export class StartedBoard {
  private readonly ids: Int32Array;
  private readonly at: Float64Array;
  /** [0] how long the worker's last call ran (µs: from its start to its answer), for the pool. */
  private readonly ran: Float64Array;
  /** Worker side: when the call in progress started (performance.now()). */
  private startedHr = 0;
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(40)) {
    this.ids = new Int32Array(buffer, 0, 1);
    this.at = new Float64Array(buffer, 8, 1);
    this.seq = new Int32Array(buffer, 16, 4);
    this.ran = new Float64Array(buffer, 32, 1);
  }
  /**
   * [0] requests posted by the main thread (and wake-ups ahead of one), [1] replies (`done`)
   * posted by the worker, [2] 1 while the worker waits hot in `Atomics.wait` (2: hot but not
   * polling, its polls were descheduled), 0 in its event loop or running a call; [3] 1 once
   * the main thread wakes the worker ahead of requests (`prewake`).
   */
  readonly seq: Int32Array;
  /** Worker side: the call `id` starts now. */
  start(id: number): void {
    this.startedHr = performance.now();
    this.at[0] = Date.now();
    Atomics.store(this.ids, 0, id | 0);
  }
  /** Main side: when call `id` started, or undefined while it has not. */
  startedAt(id: number): number | undefined {
    return Atomics.load(this.ids, 0) === (id | 0) ? this.at[0] : undefined;
  }
  /** Main side, after posting a message: wake a worker waiting hot. */
  posted(): void {
    Atomics.add(this.seq, 0, 1);
    Atomics.notify(this.seq, 0);
  }
  /**
   * Main side: a request is on its way (not parsed yet): wake the worker if it waits hot and
   * may poll, so its wake-up overlaps the parsing instead of following it. True if woken.
   */
  prewake(): boolean {
    if (Atomics.load(this.seq, 3) === 0) Atomics.store(this.seq, 3, 1);
    if (Atomics.load(this.seq, 2) !== 1) return false;
    Atomics.add(this.seq, 0, 1);
    Atomics.notify(this.seq, 0);
    return true;
  }
  /** Worker side: the main thread wakes this worker ahead of requests (`prewake`). */
  get prewakes(): boolean {
    return Atomics.load(this.seq, 3) !== 0;
  }
  /** Worker side: waiting hot (1), hot without polling (2), or neither (0). */
  waiting(state: 0 | 1 | 2): void {
    Atomics.store(this.seq, 2, state);
  }
  /**
   * Main side: how long the last call that started ran in its worker (µs), its thread hops
   * not counted (a woken thread waiting for a core is the machine's load, not the call's).
   */
  ranUs(): number {
    return this.ran[0]!;
  }
  /** Worker side, before posting a call's `done`: how long it ran (`ranUs`). */
  finished(): void {
    if (this.startedHr > 0) this.ran[0] = (performance.now() - this.startedHr) * 1000;
    this.startedHr = 0;
  }
  /** Worker side, after posting a call's `done`: wake a main thread waiting for it. */
  replied(): void {
    Atomics.add(this.seq, 1, 1);
    Atomics.notify(this.seq, 1);
  }
}

export type ToMain =
  | {
      readonly type: "done";
      readonly id: number;
      readonly ok: true;
      /** Undefined when the function returns nothing. */
      readonly value?: unknown;
      /** The function's own result<_, E> was err: `value` is E's JSON. */
      readonly isError: boolean;
      /** How the instance was left: reset to its image, kept (stateful, per-session), or dropped. */
      readonly state: "reset" | "kept" | "dropped";
      /** A per-session instance: its core memories' bytes after the call. */
      readonly bytes?: number;
    }
  | {
      readonly type: "done";
      readonly id: number;
      readonly ok: false;
      readonly error: { code: string; message: string; details?: Record<string, unknown> };
    }
  /** Host-call events of the call in progress, batched and bounded (../event-batch.ts). */
  | EventsMessage;

export type ToWorker =
  | { readonly type: "define"; readonly spec: ComponentSpec }
  | {
      readonly type: "call";
      readonly id: number;
      readonly component: string;
      readonly tool: string;
      readonly args: Record<string, unknown>;
      /** The MCP session (per-session components). */
      readonly session?: string;
      /**
       * The call may be ended from outside (a task: tasks/cancel terminates its worker): each
       * host-call event is posted at once, so none is lost with the worker.
       */
      readonly eager?: boolean;
    }
  /** A session ended: drop its per-session instances. */
  | { readonly type: "end-session"; readonly session: string };
