/**
 * A bounded pool of worker threads running components (./worker/). A call is sent to an idle
 * worker (one that already holds the component's instance first), so a host call that waits
 * (preview2-shim does wasi:http and sockets synchronously with Atomics.wait) blocks a worker,
 * never the gateway's event loop.
 *
 * Deadlines are enforced twice: inside the worker by the sandbox's metering (timeout_ms, fuel,
 * the memory cap: typed errors, the worker survives), and from outside: when a call overruns
 * timeout_ms plus a grace period (a host call that never returns), or instantiation overruns
 * its load deadline, the worker is terminated and replaced, and the call answers `timeout`.
 * A worker that dies (its JavaScript heap limit, a crash) is replaced the same way.
 *
 * `stateful` components are pinned to one worker (one instance keeps its state); `per-session`
 * ones are pinned per (component, MCP session), the worker keeping one instance per session
 * until `endSession`; `per-call` ones may run in any worker, each holding its own instance,
 * reset to its image after every call.
 *
 * Wake-ups: a thread woken from its event loop costs far more than the call of a small
 * component (tens to hundreds of µs in a VM). So after a call a worker stays hot for a while
 * (./worker/entry.ts: polls briefly when calls come about a round trip apart, else sleeps in
 * `Atomics.wait`), and takes the next message itself when the board's request counter moves;
 * and a call expected to be short, alone in flight, is waited for here, bounded by
 * `syncWaitUs`, its answer taken from the reply port at once (`waitBriefly`).
 */
import { availableParallelism } from "node:os";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { WardenError } from "../core/errors.js";
import type { EventsMessage } from "./event-batch.js";
import { machineBusy } from "./worker/busy.js";
import { type ComponentSpec, StartedBoard, type ToMain, type ToWorker } from "./worker/protocol.js";

export interface PoolOptions {
  /** Worker threads (default: min(4, available parallelism)). */
  size?: number;
  /** Extra time past a call's timeout_ms before the worker is terminated (default 1000 ms). */
  graceMs?: number;
  /** Instantiating a component in a worker may take this long (default 120 s: a cold cache instruments a JS engine). */
  loadTimeoutMs?: number;
  /** JavaScript heap of each worker, MiB (default 512; wasm memories are capped by the sandbox). */
  heapMb?: number;
  /** Host-call events that arrive with no call to hand them to (none in practice). */
  onEvents?: (m: EventsMessage) => void;
  /**
   * A call expected to take less than half of this (µs, default 300; 0: never) is waited for
   * on the calling thread when it is the only one in flight: the answer is taken as soon as
   * the worker posts it, not on the event loop's next wake-up. The wait never exceeds this
   * bound (past it the answer arrives through the event loop as usual).
   */
  syncWaitUs?: number;
  /**
   * Calls of one component that may wait for a worker thread (default `MAX_QUEUED`; an unset
   * bound is this default, never unbounded): past it a call is refused at once
   * (`hosted_queue_full`), so a flood of calls cannot grow the process.
   */
  maxQueued?: number;
  /** The setting a user raises for `maxQueued`, as the refusal names it (default `max_queued`). */
  maxQueuedKey?: string;
}

/** Calls of one component waiting for a worker thread, at most (by default). */
export const MAX_QUEUED = 64;

/** How a call may be stopped before it ends by itself (`ComponentPool.call`). */
export interface CallStop {
  /** Aborts: a call still waiting for a worker leaves the queue (`hosted_cancelled`), never runs. */
  readonly signal?: AbortSignal;
  /**
   * The abort of `signal` ends a running call too: its worker is terminated and replaced (a
   * component cannot be stopped half-way otherwise) and the call fails `hosted_cancelled`
   * (tasks/cancel). Without it a running call runs to its end or its deadline.
   */
  readonly endRunning?: boolean;
}

export interface CallOutcome {
  readonly value?: unknown;
  readonly isError: boolean;
  readonly state: "reset" | "kept" | "dropped";
  /** A per-session instance: its core memories' bytes after the call. */
  readonly bytes?: number;
}

interface Pending {
  id: number;
  component: string;
  tool: string;
  args: Record<string, unknown>;
  timeoutMs: number;
  resolve: (o: CallOutcome) => void;
  reject: (e: WardenError) => void;
  /** The call's host-call events, as they arrive (batched, bounded: ./event-batch.ts). */
  onEvents: ((m: EventsMessage) => void) | undefined;
  /** The MCP session (per-session components). */
  session: string | undefined;
  /** Set while the call may be stopped (`CallStop`); removed when it ends. */
  stop: CallStop | undefined;
  onAbort: (() => void) | undefined;
}

/** The pin of a call: one worker per stateful component, or per (component, session). */
function pinOf(spec: ComponentSpec | undefined, p: Pending): string | undefined {
  if (spec?.instance === "stateful") return p.component;
  if (spec?.instance === "per-session") return `${p.component}\u0000${p.session ?? ""}`;
  return undefined;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
  /** The deadline timer (one per slot, kept across calls: `watch`), and when it fires (Date.now()). */
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  warm: Set<string>;
  /** Shared with the worker: which call it started, and when; wake-up counters (./worker/protocol.ts). */
  started: StartedBoard;
  /** The worker's answers (`done`, host-call events) arrive on this port. */
  replies: MessagePort;
  /** When the current call was sent (Date.now()). */
  sentAt: number;
  /** The same, in performance.now() milliseconds (how long calls take: `syncWaitUs`). */
  sentHr: number;
}

/** The worker's entry: dist/hosted/worker/entry.js (from sources under a test runner too). */
function entryUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const dist = here.replace(/\/src\/hosted\/pool\.ts$/, "/dist/hosted/worker/entry.js");
    return new URL(dist);
  }
  return new URL("./worker/entry.js", here);
}

export class ComponentPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly specs = new Map<string, ComponentSpec>();
  private readonly pinned = new Map<string, Slot>();
  private readonly queue: Pending[] = [];
  /** Calls waiting in `queue`, per component (bounded by `maxQueued`). */
  private readonly queued = new Map<string, number>();
  /** How long a call of each component took recently (µs, a moving average): `syncWaitUs`. */
  private readonly took = new Map<string, number>();
  /** No polling in `waitBriefly` before this (performance.now()): a poll was descheduled. */
  private contendedUntil = 0;
  private nextId = 1;
  private closed = false;
  /** The worker that answered last: the one a request on its way is likely to go to. */
  private lastAnswered: Slot | undefined;
  /** Workers terminated or lost so far (deadline, crash). */
  replaced = 0;

  /** Worker threads running now (0 once closed: close() ends them all). */
  get workers(): number {
    return this.slots.length;
  }

  constructor(private readonly opts: PoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? Math.min(4, availableParallelism()));
  }

  /** Make (or replace) a component's spec; workers get it before their next call. */
  define(spec: ComponentSpec): void {
    this.specs.set(spec.key, spec);
    for (const pin of [...this.pinned.keys()])
      if (pin === spec.key || pin.startsWith(`${spec.key}\u0000`)) this.pinned.delete(pin);
    for (const s of this.slots) {
      s.warm.delete(spec.key);
      this.send(s, { type: "define", spec });
    }
  }

  call(
    component: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    onEvents?: (m: EventsMessage) => void,
    session?: string,
    stop?: CallStop,
  ): Promise<CallOutcome> {
    if (this.closed)
      return Promise.reject(
        new WardenError("hosted_closed", "the component server is shutting down", {
          category: "internal",
        }),
      );
    if (stop?.signal?.aborted === true) return Promise.reject(cancelled(component, tool, false));
    const waiting = this.queued.get(component) ?? 0;
    const max = this.maxQueued;
    // Only a call that would wait is refused: one an idle worker takes at once never queues.
    if (waiting >= max && !this.wouldRunNow(component, session))
      return Promise.reject(this.queueFull(component, tool, waiting, max));
    return new Promise((resolve, reject) => {
      const p: Pending = {
        id: this.nextId++,
        component,
        tool,
        args,
        timeoutMs,
        resolve,
        reject,
        onEvents,
        session,
        stop: stop?.signal === undefined ? undefined : stop,
        onAbort: undefined,
      };
      this.queue.push(p);
      this.queued.set(component, waiting + 1);
      this.pump();
      // The abort is heard only where it does something: a call that waits in the queue, or
      // one whose run it ends (endRunning). A call an idle worker took at once, to run to its
      // end, adds no listener (an AbortSignal listener costs about 10 µs in Node).
      const signal = p.stop?.signal;
      const live =
        this.queue.includes(p) ||
        (p.stop?.endRunning === true && this.slots.some((x) => x.busy === p));
      if (signal !== undefined && live) {
        const onAbort = () => this.abort(p);
        p.onAbort = onAbort;
        signal.addEventListener("abort", onAbort, { once: true });
        const done = (o: () => void) => {
          signal.removeEventListener("abort", onAbort);
          p.stop = undefined;
          o();
        };
        p.resolve = (o) => done(() => resolve(o));
        p.reject = (e) => done(() => reject(e));
      }
    });
  }

  /** The bound of each component's queue (an unset option is the default, never unbounded). */
  get maxQueued(): number {
    const n = this.opts.maxQueued;
    return n === undefined || !Number.isInteger(n) || n < 0 ? MAX_QUEUED : n;
  }

  /** Calls of `component` waiting for a worker now (for tests and views). */
  queuedCalls(component: string): number {
    return this.queued.get(component) ?? 0;
  }

  /** An idle worker would take a call of `component` at once (nothing of it waits before it). */
  private wouldRunNow(component: string, session: string | undefined): boolean {
    if ((this.queued.get(component) ?? 0) > 0) return false;
    const spec = this.specs.get(component);
    if (spec?.instance === "stateful" || spec?.instance === "per-session") {
      const pin = spec.instance === "stateful" ? component : `${component}\u0000${session ?? ""}`;
      const s = this.pinned.get(pin);
      if (s !== undefined && this.slots.includes(s)) return s.busy === undefined;
    }
    return this.slots.length < this.size || this.slots.some((s) => s.busy === undefined);
  }

  private queueFull(component: string, tool: string, waiting: number, max: number): WardenError {
    const key = this.opts.maxQueuedKey ?? "max_queued";
    return new WardenError(
      "hosted_queue_full",
      `component "${component}" already has ${waiting} call(s) waiting for one of the ${this.size} worker thread(s), all busy, the most that may wait (${key}: ${max}); this call of ${tool} was not run. Retry later, or raise ${key} (or the worker threads) for this component.`,
      {
        category: "denied",
        details: { component, tool, waiting, key, max, workers: this.size },
      },
    );
  }

  /** A stoppable call's signal aborted: out of the queue, or (endRunning) its worker ended. */
  private abort(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.dequeued(p.component);
      p.reject(cancelled(p.component, p.tool, false));
      return;
    }
    if (p.stop?.endRunning !== true) return;
    const slot = this.slots.find((s) => s.busy === p);
    if (slot === undefined) return;
    // Out of the pool at once (a new worker takes the queue); the call's events go on to it
    // until the worker is gone: it posts each one at once (`eager`), so none is lost.
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    clearTimeout(slot.timer);
    for (const [k, s] of this.pinned) if (s === slot) this.pinned.delete(k);
    this.replaced++;
    this.pump();
    void slot.worker.terminate().finally(() => {
      for (let r = receiveMessageOnPort(slot.replies); r !== undefined; ) {
        this.onMessage(slot, r.message as ToMain);
        r = receiveMessageOnPort(slot.replies);
      }
      slot.replies.close();
      if (slot.busy !== p) return; // it had just ended by itself
      slot.busy = undefined;
      p.reject(cancelled(p.component, p.tool, true));
    });
  }

  private dequeued(component: string): void {
    const n = (this.queued.get(component) ?? 1) - 1;
    if (n <= 0) this.queued.delete(component);
    else this.queued.set(component, n);
  }

  private spawn(): Slot {
    const started = new StartedBoard();
    const channel = new MessageChannel();
    const worker = new Worker(entryUrl(), {
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb ?? 512 },
      stdout: true,
      stderr: true,
      workerData: { started: started.buffer, reply: channel.port2 },
      transferList: [channel.port2],
    });
    const slot: Slot = {
      worker,
      busy: undefined,
      timer: undefined,
      timerAt: 0,
      warm: new Set(),
      started,
      replies: channel.port1,
      sentAt: 0,
      sentHr: 0,
    };
    worker.unref();
    channel.port1.unref();
    channel.port1.on("message", (m: ToMain) => this.onMessage(slot, m));
    worker.on("error", (e) => this.lost(slot, e));
    worker.on("exit", () => this.lost(slot, undefined));
    for (const spec of this.specs.values()) this.send(slot, { type: "define", spec });
    this.slots.push(slot);
    return slot;
  }

  /** An MCP session ended: its per-session instances are dropped (their workers told). */
  endSession(session: string): void {
    const suffix = `\u0000${session}`;
    const told = new Set<Slot>();
    for (const [pin, s] of this.pinned) {
      if (!pin.endsWith(suffix)) continue;
      this.pinned.delete(pin);
      if (told.has(s) || !this.slots.includes(s)) continue;
      told.add(s);
      this.send(s, { type: "end-session", session });
    }
  }

  /**
   * A request is arriving (`warden serve` saw bytes on stdin; the SDK parses them now): wake
   * the worker that answered last, if it is idle and waiting hot, so that it polls for the
   * call while the request is parsed and validated (./worker/entry.ts). It costs a futex wake
   * when the bytes are no tools/call; nothing when that worker is busy, in its event loop, or
   * not polling because its cores are taken.
   */
  prewake(): void {
    // A busy machine has no core for the worker's poll (./worker/busy.ts).
    if (machineBusy()) return;
    const s = this.lastAnswered;
    if (s === undefined || s.busy !== undefined || this.queue.length > 0) return;
    if (this.slots.includes(s)) s.started.prewake();
  }

  private send(slot: Slot, m: ToWorker): void {
    slot.worker.postMessage(m);
    slot.started.posted();
  }

  private pick(p: Pending): Slot | undefined {
    const pin = pinOf(this.specs.get(p.component), p);
    if (pin !== undefined) {
      let s = this.pinned.get(pin);
      if (s === undefined || !this.slots.includes(s)) {
        s = this.slots.find((x) => x.busy === undefined);
        if (s === undefined && this.slots.length < this.size) s = this.spawn();
        if (s !== undefined) this.pinned.set(pin, s);
      }
      return s?.busy === undefined ? s : undefined;
    }
    const idle = this.slots.filter((s) => s.busy === undefined);
    return (
      idle.find((s) => s.warm.has(p.component)) ??
      (this.slots.length < this.size ? this.spawn() : idle[0])
    );
  }

  private pump(): void {
    let sent: Slot | undefined;
    for (let i = 0; i < this.queue.length; ) {
      const p = this.queue[i]!;
      const slot = this.pick(p);
      if (slot === undefined) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.dequeued(p.component);
      slot.busy = p;
      slot.worker.ref();
      slot.sentAt = Date.now();
      slot.sentHr = performance.now();
      this.watch(slot, p);
      this.send(slot, {
        type: "call",
        id: p.id,
        component: p.component,
        tool: p.tool,
        args: p.args,
        ...(p.session === undefined ? {} : { session: p.session }),
        ...(p.stop?.endRunning === true ? { eager: true } : {}),
      });
      sent = slot;
    }
    if (sent !== undefined) this.waitBriefly(sent);
  }

  /**
   * A short call, alone in flight: wait for its answer here, bounded by `syncWaitUs` (a short
   * poll, then `Atomics.wait` on the board's reply counter), and take it from the port at once.
   * Anything else (a long or unknown call, another in flight, a queue) goes by the event loop.
   */
  private waitBriefly(slot: Slot): void {
    const p = slot.busy;
    const bound = this.opts.syncWaitUs ?? 300;
    if (p === undefined || bound <= 0 || this.queue.length > 0) return;
    const took = this.took.get(p.component);
    if (took === undefined || took > bound / 2) return;
    for (const s of this.slots) if (s !== slot && s.busy !== undefined) return;
    const seq = slot.started.seq;
    const end = slot.sentHr + bound / 1000;
    // Poll (the answer is due within microseconds; a thread asleep in a VM wakes late), then
    // sleep in Atomics.wait for the rest of the bound.
    // No polling on a busy machine (./worker/busy.ts): the wait then costs no CPU.
    const spinEnd = machineBusy()
      ? 0
      : slot.sentHr + Math.min(bound, Math.max(4 * took, 50)) / 1000;
    while (slot.busy === p) {
      const seen = Atomics.load(seq, 1);
      const r = receiveMessageOnPort(slot.replies);
      if (r !== undefined) {
        this.onMessage(slot, r.message as ToMain);
        continue;
      }
      const now = performance.now();
      if (now >= end) return;
      if (now < spinEnd && now >= this.contendedUntil) {
        let t = now;
        while (Atomics.load(seq, 1) === seen && t < spinEnd) {
          const n = performance.now();
          // Descheduled while polling (all cores taken): sleep instead, for a while.
          if (n - t > 0.2) this.contendedUntil = n + 1000;
          if (n - t > 0.2) break;
          t = n;
        }
        continue;
      }
      Atomics.wait(seq, 1, seen, end - now);
    }
  }

  /**
   * The deadline from outside, without a message or a timer per call: the worker marks the call
   * started (and when) on the slot's shared board once the instance is ready; until then the
   * load deadline applies (instantiation may be running), from then the call's own timeout plus
   * grace. One timer per slot checks the board when the nearer of the two could have passed for
   * the call in progress then; it is kept across calls (a new one only when it would fire later
   * than this call's nearest deadline), so a run of short calls sets no timer at all. It is
   * unref'd: a busy worker is ref'd, which keeps the process alive.
   */
  private watch(slot: Slot, p: Pending): void {
    const first = Math.min(p.timeoutMs + (this.opts.graceMs ?? 1000), this.loadMs());
    if (slot.timer !== undefined && slot.timerAt <= slot.sentAt + first) return;
    this.arm(slot, first);
  }

  private loadMs(): number {
    return this.opts.loadTimeoutMs ?? 120_000;
  }

  private arm(slot: Slot, ms: number): void {
    clearTimeout(slot.timer);
    slot.timerAt = Date.now() + ms;
    slot.timer = setTimeout(() => this.check(slot), ms);
    slot.timer.unref();
  }

  /** The slot's timer fired: the call in progress now (if any) against its deadline. */
  private check(slot: Slot): void {
    slot.timer = undefined;
    const p = slot.busy;
    if (p === undefined) return;
    const load = this.loadMs();
    const call = p.timeoutMs + (this.opts.graceMs ?? 1000);
    const now = Date.now();
    const at = slot.started.startedAt(p.id);
    if (at !== undefined) {
      if (now >= at + call) this.expire(slot, call, "its call");
      else this.arm(slot, at + call - now);
    } else if (now >= slot.sentAt + load) this.expire(slot, load, "instantiating the component");
    else this.arm(slot, Math.min(call, slot.sentAt + load - now));
  }

  private expire(slot: Slot, ms: number, what: string): void {
    const p = slot.busy;
    if (p === undefined) return;
    slot.busy = undefined;
    p.reject(
      new WardenError(
        "timeout",
        `component tool ${p.tool} did not finish ${what} within ${ms} ms; its worker was terminated (a host call that does not return is stopped from outside)`,
        {
          category: "plugin",
          details: {
            component: p.component,
            tool: p.tool,
            limit: "timeout_ms",
            enforced: "worker terminated",
          },
        },
      ),
    );
    this.retire(slot);
  }

  private retire(slot: Slot): void {
    clearTimeout(slot.timer);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const [k, s] of this.pinned) if (s === slot) this.pinned.delete(k);
    this.replaced++;
    void slot.worker.terminate().finally(() => slot.replies.close());
    this.pump();
  }

  private lost(slot: Slot, error: Error | undefined): void {
    if (!this.slots.includes(slot)) return;
    const p = slot.busy;
    slot.busy = undefined;
    if (p !== undefined) {
      const oom = (error as NodeJS.ErrnoException | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      p.reject(
        new WardenError(
          oom ? "memory_exceeded" : "hosted_worker_lost",
          oom
            ? `component tool ${p.tool} exhausted its worker's JavaScript heap; the worker was replaced`
            : `the worker running component tool ${p.tool} stopped (${error?.message ?? "exited"}); it was replaced`,
          { category: "plugin", details: { component: p.component, tool: p.tool } },
        ),
      );
    }
    this.retire(slot);
  }

  private onMessage(slot: Slot, m: ToMain): void {
    if (m.type === "events") {
      const to = slot.busy?.onEvents ?? this.opts.onEvents;
      to?.(m);
      return;
    }
    const p = slot.busy;
    if (p === undefined || p.id !== m.id) return;
    slot.busy = undefined;
    slot.worker.unref();
    this.lastAnswered = slot;
    // How long the call ran in its worker (the hops not counted: under load a woken thread
    // waits for a core, which would make every call look long and never be waited for here).
    const ran = slot.started.ranUs();
    const us = ran > 0 ? ran : (performance.now() - slot.sentHr) * 1000;
    const was = this.took.get(p.component);
    this.took.set(p.component, was === undefined ? us : (was + us) / 2);
    if (m.ok) {
      if (m.state === "dropped") slot.warm.delete(p.component);
      else slot.warm.add(p.component);
      p.resolve({
        isError: m.isError,
        state: m.state,
        ...(m.value === undefined ? {} : { value: m.value }),
        ...(m.bytes === undefined ? {} : { bytes: m.bytes }),
      });
    } else {
      slot.warm.delete(p.component);
      p.reject(
        new WardenError(m.error.code, m.error.message, {
          category: "plugin",
          details: { component: p.component, tool: p.tool, ...(m.error.details ?? {}) },
        }),
      );
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queued.clear();
    for (const p of this.queue.splice(0))
      p.reject(new WardenError("hosted_closed", "the component server is shutting down"));
    const all = this.slots.splice(0);
    for (const s of all) clearTimeout(s.timer);
    // Calls running end too (their host calls so far are in their answer, for the audit).
    for (const s of all)
      s.busy?.reject(
        new WardenError("hosted_closed", "the component server shut down while the call ran"),
      );
    await Promise.all(all.map((s) => s.worker.terminate()));
    for (const s of all) s.replies.close();
  }
}

function cancelled(component: string, tool: string, running: boolean): WardenError {
  return new WardenError(
    "hosted_cancelled",
    running
      ? `the call of component tool ${tool} was cancelled while it ran; its worker was terminated (the host calls it made so far are audited)`
      : `the call of component tool ${tool} was cancelled while it waited for a worker thread; it did not run`,
    {
      category: "usage",
      details: { component, tool, ...(running ? { enforced: "worker terminated" } : {}) },
    },
  );
}
