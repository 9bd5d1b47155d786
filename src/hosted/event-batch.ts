/**
 * Host-call events crossing from a component worker to the main thread, batched and bounded.
 *
 * A component can make host calls without end (a loop of refused opens): every one is judged
 * and counted, but what crosses the thread boundary is bounded. Per tool call, the first
 * `EVENTS_PER_CALL` events cross in full (in messages of at most `EVENTS_PER_BATCH`); later
 * ones are only counted, per (interface, function, decision), and those counts cross once, when
 * the call ends (at most `MAX_DROPPED_KEYS` distinct keys; the rest are summed under one key
 * `(other)`). So a call sends at most EVENTS_PER_CALL / EVENTS_PER_BATCH + 1 event messages,
 * whatever the component does, and the main thread's audit and metrics never queue without end.
 */
import type { Emit, HostDecisionEvent, HostEvent } from "./host-seam.js";

/** Events kept in full per tool call (audit lines, the answer's hint). */
export const EVENTS_PER_CALL = 256;
/** Events per message to the main thread. */
export const EVENTS_PER_BATCH = 64;
/** Distinct (component, interface, function, decision) keys of dropped events counted apart. */
export const MAX_DROPPED_KEYS = 64;

/** Events of one tool call that were counted but not sent in full. */
export interface DroppedEvents {
  readonly component: string;
  /** The WASI interface, or `log` for the component's own log lines. */
  readonly interface: string;
  readonly function: string;
  readonly decision: "allow" | "deny";
  readonly count: number;
}

/**
 * A dropped-count row of a call whose worker may be terminated (a task): its count lives in the
 * shared `board` (Int32, slot `index`, sent with the first row), so the counts made up to the
 * termination are read on the main thread even though `end` never runs. At most
 * MAX_DROPPED_KEYS + 1 rows per call, so at most that many of these messages.
 */
export interface LiveDropped {
  readonly board?: SharedArrayBuffer;
  readonly index: number;
  readonly row: Omit<DroppedEvents, "count">;
}

/** What a worker posts: a batch of events of the call in progress (`dropped`: at its end). */
export interface EventsMessage {
  readonly type: "events";
  readonly events: readonly HostEvent[];
  readonly dropped?: readonly DroppedEvents[];
  /** A new dropped-count row of an eager call, counted in a shared board (see LiveDropped). */
  readonly live?: LiveDropped;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class EventBatch {
  #buf: HostEvent[] = [];
  #kept = 0;
  #dropped = new Map<string, Mutable<DroppedEvents>>();
  /** Eager calls: the shared counts of the dropped rows (index = the row's order of arrival). */
  #board: Int32Array | undefined;
  #slots = new Map<Mutable<DroppedEvents>, number>();
  /** Post each event at once (a call whose worker may be terminated: a task); reset by `end`. */
  eager = false;

  constructor(private readonly post: (m: EventsMessage) => void) {}

  /**
   * The worker's `emit`: keep, batch, or count. Never throws, never queues past the bounds.
   * Its `flush` sends what is buffered now (the host calls it before a host call that waits).
   */
  readonly emit: Emit = Object.assign((e: HostEvent) => this.#emit(e), {
    flush: () => this.flush(),
  });

  #emit(e: HostEvent): void {
    if (this.#kept < EVENTS_PER_CALL) {
      this.#kept++;
      this.#buf.push(e);
      if (this.eager || this.#buf.length >= EVENTS_PER_BATCH) this.flush();
      return;
    }
    const d = e.kind === "decision" ? (e as HostDecisionEvent) : undefined;
    const iface = d?.interface ?? "log";
    const fn = d?.function ?? (e.kind === "log" ? e.level : "log");
    const decision = d?.decision ?? "allow";
    let key = `${e.component}\u0000${iface}\u0000${fn}\u0000${decision}`;
    let row = this.#dropped.get(key);
    if (row === undefined && this.#dropped.size >= MAX_DROPPED_KEYS) {
      key = "(other)";
      row = this.#dropped.get(key);
    }
    if (row === undefined) {
      row =
        key === "(other)"
          ? { component: "(other)", interface: "(other)", function: "(other)", decision, count: 0 }
          : { component: e.component, interface: iface, function: fn, decision, count: 0 };
      this.#dropped.set(key, row);
      if (this.eager) this.#live(row);
    }
    row.count++;
    if (this.eager) {
      const i = this.#slots.get(row);
      if (i !== undefined) Atomics.store(this.#board!, i, Math.min(row.count, 0x7fffffff));
    }
  }

  /**
   * A new dropped row of an eager call (its worker may be terminated before `end`): told to the
   * main thread now, its count kept in a shared board from then on.
   */
  #live(row: Mutable<DroppedEvents>): void {
    const first = this.#board === undefined;
    if (first) this.#board = new Int32Array(new SharedArrayBuffer(4 * (MAX_DROPPED_KEYS + 1)));
    const index = this.#slots.size;
    this.#slots.set(row, index);
    const { count: _, ...rest } = row;
    this.flush(); // the events kept before it go first
    this.post({
      type: "events",
      events: [],
      live: first
        ? { board: this.#board!.buffer as SharedArrayBuffer, index, row: rest }
        : { index, row: rest },
    });
  }

  /** Send what is buffered. */
  flush(): void {
    if (this.#buf.length === 0) return;
    const events = this.#buf;
    this.#buf = [];
    this.post({ type: "events", events });
  }

  /** The call ended: send the rest and the counts of what was dropped; start the next call afresh. */
  end(): void {
    const dropped = [...this.#dropped.values()];
    if (this.#buf.length > 0 || dropped.length > 0) {
      const events = this.#buf;
      this.#buf = [];
      this.post(
        dropped.length > 0 ? { type: "events", events, dropped } : { type: "events", events },
      );
    }
    this.#kept = 0;
    this.#dropped = new Map();
    this.#board = undefined;
    this.#slots = new Map();
    this.eager = false;
  }
}
