/**
 * Rate limits (`max_calls_per_minute`): an exact sliding window of 60 s, per rule, per tool
 * name and per caller. A call is allowed when fewer than N calls were allowed for the same
 * (rule, tool, caller) in the 60 000 ms before it; each window keeps the times of at most N
 * calls in a ring. Denied calls are not counted.
 *
 * State lives in a `PolicyState`, keyed by the rule's content (its group and canonical
 * JSON, not its line), so compiling a new policy with `{ state: old.state }` keeps the
 * counters of every rule whose content did not change.
 */
export const WINDOW_MS = 60_000;
/** Windows kept per rule before stale ones are evicted; when all are live, new ones are denied. */
export const MAX_WINDOWS_PER_RULE = 100_000;

class Window {
  times: Float64Array;
  head = 0;
  count = 0;
  last = 0;
  constructor(cap: number) {
    this.times = new Float64Array(cap);
  }
}

export class RuleLimiter {
  readonly perMinute: number;
  /** The rule's content key (`PolicyState`): what a shared window is named by (src/state). */
  readonly key: string;
  readonly #windows = new Map<string, Window>();
  readonly #maxWindows: number;

  constructor(perMinute: number, maxWindows = MAX_WINDOWS_PER_RULE, key = "") {
    this.perMinute = perMinute;
    this.#maxWindows = maxWindows;
    this.key = key;
  }

  /** Take one call for `tool` by `caller` at `now` (ms); false when over the limit or full. */
  take(tool: string, caller: string, now: number): boolean {
    const key = `${caller}\u0000${tool}`;
    let w = this.#windows.get(key);
    const n = this.perMinute;
    if (w === undefined) {
      if (this.#windows.size >= this.#maxWindows && !this.#evict(now)) return false;
      w = new Window(Math.min(n, 8));
      this.#windows.set(key, w);
    }
    if (w.count < n) {
      if (w.count === w.times.length) {
        const bigger = new Float64Array(Math.min(n, w.times.length * 2));
        for (let i = 0; i < w.count; i++) bigger[i] = w.times[(w.head + i) % w.count]!;
        w.times = bigger;
        w.head = 0;
      }
      w.times[(w.head + w.count) % w.times.length] = now;
      w.count++;
      w.last = now;
      return true;
    }
    const oldest = w.times[w.head]!;
    if (now - oldest < WINDOW_MS) return false;
    w.times[w.head] = now;
    w.head = (w.head + 1) % w.times.length;
    w.last = now;
    return true;
  }

  /** Calls left for `tool` by `caller` at `now`. */
  remaining(tool: string, caller: string, now: number): number {
    const w = this.#windows.get(`${caller}\u0000${tool}`);
    if (w === undefined) return this.perMinute;
    let used = 0;
    for (let i = 0; i < w.count; i++) {
      if (now - w.times[(w.head + i) % w.times.length]! < WINDOW_MS) used++;
    }
    return this.perMinute - used;
  }

  #evict(now: number): boolean {
    for (const [k, w] of this.#windows) if (now - w.last >= WINDOW_MS) this.#windows.delete(k);
    return this.#windows.size < this.#maxWindows;
  }
}

/** Mutable rate-limit state shared across policy swaps. */
export class PolicyState {
  readonly #limiters = new Map<string, RuleLimiter>();

  /** The limiter of the rule with content key `key`, made on first use. */
  limiter(key: string, perMinute: number): RuleLimiter {
    let l = this.#limiters.get(key);
    if (l === undefined || l.perMinute !== perMinute) {
      l = new RuleLimiter(perMinute, MAX_WINDOWS_PER_RULE, key);
      this.#limiters.set(key, l);
    }
    return l;
  }

  /** Drop the state of rules not in `keys` (called when a new policy takes over). */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.#limiters.keys()) if (!keys.has(k)) this.#limiters.delete(k);
  }

  get size(): number {
    return this.#limiters.size;
  }
}
