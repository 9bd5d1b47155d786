/**
 * At most `limit` holders at once per key (a component's calls under `resources.limits.cpu`,
 * ./cpu.ts); the others wait in order. No limit: `run` calls at once.
 */
export class Gate {
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  async run<T>(key: string, limit: number | undefined, fn: () => Promise<T>): Promise<T> {
    if (limit === undefined) return fn();
    if ((this.#running.get(key) ?? 0) >= limit)
      await new Promise<void>((go) => {
        const q = this.#waiting.get(key) ?? [];
        q.push(go);
        this.#waiting.set(key, q);
      });
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
      next?.();
    }
  }
}
