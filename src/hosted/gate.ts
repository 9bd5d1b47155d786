/**
 * At most `limit` holders at once per key (a component's calls under `resources.limits.cpu`,
 * ./cpu.ts); the others wait in order, at most `maxWaiting` of them per key: past it a call is
 * refused at once (`hosted_cpu_queue_full`), so a flood of calls cannot grow the process. A
 * waiting call whose signal aborts (the client cancelled it, its session closed) leaves the
 * queue at once (`hosted_cancelled`) and never runs. No limit: `run` calls at once.
 */
import { WardenError } from "../core/errors.js";

/** Calls of one component waiting for a core, at most (by default). */
export const MAX_WAITING = 64;

interface Waiter {
  go: () => void;
}

export class Gate {
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, Waiter[]>();

  constructor(readonly maxWaiting = MAX_WAITING) {}

  /** Calls of `key` running, and waiting (for tests and views). */
  load(key: string): { running: number; waiting: number } {
    return { running: this.#running.get(key) ?? 0, waiting: this.#waiting.get(key)?.length ?? 0 };
  }

  run<T>(
    key: string,
    limit: number | undefined,
    fn: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    // No limit: the call itself, without another promise around it.
    if (limit === undefined) return fn();
    return this.#limited(key, limit, fn, signal);
  }

  async #limited<T>(
    key: string,
    limit: number,
    fn: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if ((this.#running.get(key) ?? 0) >= limit) await this.#wait(key, limit, signal);
    this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = (this.#running.get(key) ?? 1) - 1;
      if (n === 0) this.#running.delete(key);
      else this.#running.set(key, n);
      const q = this.#waiting.get(key);
      const next = q?.shift();
      if (q !== undefined && q.length === 0) this.#waiting.delete(key);
      next?.go();
    }
  }

  #wait(key: string, limit: number, signal: AbortSignal | undefined): Promise<void> {
    const q = this.#waiting.get(key) ?? [];
    if (q.length >= this.maxWaiting)
      return Promise.reject(
        new WardenError(
          "hosted_cpu_queue_full",
          `component "${key}" already runs ${limit} call(s) at once (resources.limits.cpu: ${limit}) with ${q.length} more waiting, the most that may wait; this call was not run. Retry later, or raise resources.limits.cpu in the component's policy.`,
          {
            category: "denied",
            details: { component: key, cpu: limit, waiting: q.length, key: "resources.limits.cpu" },
          },
        ),
      );
    if (signal?.aborted === true) return Promise.reject(cancelled(key));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const list = this.#waiting.get(key);
        const i = list?.indexOf(w) ?? -1;
        if (list !== undefined && i >= 0) {
          list.splice(i, 1);
          if (list.length === 0) this.#waiting.delete(key);
        }
        reject(cancelled(key));
      };
      const w: Waiter = {
        go: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      q.push(w);
      this.#waiting.set(key, q);
    });
  }
}

function cancelled(key: string): WardenError {
  return new WardenError(
    "hosted_cancelled",
    `a call of component "${key}" was cancelled while it waited for a core (resources.limits.cpu); it did not run`,
    { category: "usage", details: { component: key } },
  );
}
