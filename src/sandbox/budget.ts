/**
 * The CPU budget of one evaluation: a wall-clock deadline and optional fuel, shared by every
 * instance metered under it. Instrumented code decrements its own fuel counter global and calls
 * `warden_rt.tick` when the counter drops below zero; the tick accounts what was used, checks
 * fuel and deadline, and refills the counter with the next chunk, or throws an Interrupt that
 * unwinds the guest. Once interrupted, every later tick throws again, so a guest that catches the
 * exception (exception handling) cannot continue past its next loop head or call.
 */
import { sandboxError } from "./errors.js";
import type { Limits } from "./limits.js";

export type InterruptKind = "timeout" | "fuel_exhausted" | "proc_exit" | "inactive";

/** Thrown through guest frames to stop an evaluation. Never escapes the sandbox API. */
export class Interrupt {
  constructor(
    readonly kind: InterruptKind,
    readonly exitCode = 0,
  ) {}
}

/** One instrumented instance's fuel counter under a budget. */
export interface Meter {
  counter: WebAssembly.Global;
  given: number;
}

/** Chunk bounds: units of fuel handed out between two host checks. */
const MIN_CHUNK = 64;
const MAX_CHUNK = 4096;
/** Aim for a host check every ~0.1-0.4 ms of guest work. */
const FAST_MS = 0.1;
const SLOW_MS = 0.4;
/** Straight-line code per chunk is bounded by chunk x the largest function body. */
const CODE_BYTES_PER_CHUNK = 16 * 1024 * 1024;

export class Budget {
  readonly meters: Meter[] = [];
  deadline = 0;
  startedAt = 0;
  used = 0;
  reserved = 0;
  interrupt: Interrupt | null = null;
  active = false;
  #chunk = MIN_CHUNK;
  #cap = MAX_CHUNK;
  #lastTick = 0;

  constructor(
    readonly plugin: string,
    readonly limits: Readonly<Limits>,
  ) {}

  /** Lower the largest chunk so that chunk x largest function body stays bounded. */
  boundChunkByCode(maxBodyBytes: number): void {
    const cap = Math.floor(CODE_BYTES_PER_CHUNK / Math.max(1, maxBodyBytes));
    this.#cap = Math.max(MIN_CHUNK / 4, Math.min(this.#cap, cap));
    if (this.#chunk > this.#cap) this.#chunk = this.#cap;
  }

  addMeter(counter: WebAssembly.Global): Meter {
    const m: Meter = { counter, given: 0 };
    this.meters.push(m);
    if (this.active) this.#give(m);
    return m;
  }

  start(now = performance.now()): void {
    this.startedAt = now;
    this.deadline = now + this.limits.timeout_ms;
    this.#lastTick = now;
    this.used = 0;
    this.reserved = 0;
    this.interrupt = null;
    this.active = true;
    for (const m of this.meters) this.#give(m);
  }

  /** End the run: account the fuel still unspent and zero every counter (fail closed). */
  finish(): number {
    for (const m of this.meters) {
      this.used += m.given - (m.counter.value as number);
      m.given = 0;
      m.counter.value = 0;
    }
    this.reserved = 0;
    this.active = false;
    return this.used;
  }

  /**
   * Charge host work to the evaluation (a host function doing work in proportion to its
   * arguments: `units` as the guest's own instructions would cost), then check fuel and deadline.
   * The metering counts the guest's loop heads and calls, not what a host call does, so without
   * this a straight line of host calls could run far past the timeout between two ticks.
   */
  spend(units: number): void {
    if (this.interrupt) throw this.interrupt;
    if (!this.active) throw (this.interrupt = new Interrupt("inactive"));
    this.used += units;
    const fuel = this.limits.fuel;
    if (fuel !== null && this.used > fuel) throw (this.interrupt = new Interrupt("fuel_exhausted"));
    if (performance.now() > this.deadline) throw (this.interrupt = new Interrupt("timeout"));
  }

  tick(m: Meter): void {
    this.used += m.given - (m.counter.value as number);
    this.reserved -= m.given;
    m.given = 0;
    m.counter.value = 0;
    if (!this.active) {
      throw sandboxError(
        "trap",
        this.plugin,
        "guest code ran outside a budget; call it inside runWithBudget",
        { kind: "host" },
      );
    }
    if (this.interrupt) throw this.interrupt;
    const fuel = this.limits.fuel;
    if (fuel !== null && this.used > fuel) throw (this.interrupt = new Interrupt("fuel_exhausted"));
    const now = performance.now();
    if (now > this.deadline) throw (this.interrupt = new Interrupt("timeout"));
    const dt = now - this.#lastTick;
    this.#lastTick = now;
    if (dt < FAST_MS) this.#chunk = Math.min(this.#chunk * 2, this.#cap);
    else if (dt > SLOW_MS) this.#chunk = Math.max(1, this.#chunk >> 2);
    this.#give(m);
  }

  #give(m: Meter): void {
    const fuel = this.limits.fuel;
    const next =
      fuel === null
        ? this.#chunk
        : Math.max(0, Math.min(this.#chunk, fuel - this.used - this.reserved));
    m.given = next;
    this.reserved += next;
    m.counter.value = next;
  }
}
