/**
 * Upstream process slots of the HTTP front: a command upstream with `sessions: per_session` runs
 * one process per HTTP session, at most its `max_processes`; past it a new session waits up to
 * its `max_processes_wait_ms` for a session to end, in a bounded first-come-first-served queue.
 */
import type { ServerResponse } from "node:http";
import type { UpstreamConfig } from "./config-types.js";

/** New sessions waiting for an upstream process slot at most (more get 503 at once). */
export const MAX_SLOT_WAITERS = 64;
/** upstreams[].max_processes_wait_ms by default. */
export const SLOT_WAIT_MS = 2000;

/** The cap on sessions that processes set: the smallest max_processes, whose, and its wait. */
export interface ProcessCap {
  readonly max: number;
  readonly upstream: string;
  readonly waitMs: number;
}

/** The cap of these upstreams (a shared or URL upstream sets none); undefined when none does. */
export function processCap(upstreams: readonly UpstreamConfig[]): ProcessCap | undefined {
  let cap: ProcessCap | undefined;
  for (const u of upstreams)
    if (u.kind === "stdio" && u.sessions !== "shared" && u.maxProcesses !== undefined)
      if (cap === undefined || u.maxProcesses < cap.max)
        cap = {
          max: u.maxProcesses,
          upstream: u.name,
          waitMs: u.maxProcessesWaitMs ?? SLOT_WAIT_MS,
        };
  return cap;
}

/** New sessions waiting for a slot, first come first served, at most MAX_SLOT_WAITERS. */
export class SlotQueue {
  #waiters: (() => void)[] = [];

  get length(): number {
    return this.#waiters.length;
  }

  get full(): boolean {
    return this.#waiters.length >= MAX_SLOT_WAITERS;
  }

  /** A slot freed: the first waiter tries again. */
  wakeOne(): void {
    this.#waiters.shift()?.();
  }

  /**
   * Wait for a slot (`woken`) up to `ms` (`timedOut`); the client of `res` leaving gives its
   * place up at once (neither is called then).
   */
  wait(res: ServerResponse, ms: number, woken: () => void, timedOut: () => void): void {
    const drop = () => {
      this.#waiters = this.#waiters.filter((w) => w !== wake);
    };
    const wake = () => {
      clearTimeout(timer);
      res.off("close", left);
      woken();
    };
    const left = () => {
      clearTimeout(timer);
      drop();
    };
    const timer = setTimeout(() => {
      drop();
      res.off("close", left);
      if (!res.destroyed) timedOut();
    }, ms);
    timer.unref();
    res.once("close", left);
    this.#waiters.push(wake);
  }
}
