/**
 * The last audit lines written, kept in memory for whoever looks (the gateway's views): a ring of
 * a fixed number of lines, as written (JSON text: nothing a reader does can change them), fed by
 * the writer (`AuditLog.onwrite`). A line costs one array slot; it is parsed only when read.
 */
import { WardenError } from "../core/errors.js";
import type { AuditRecord } from "./record.js";

/** How many lines the ring keeps unless told otherwise. */
export const RECENT_LINES = 256;

export class RecentLines {
  readonly capacity: number;
  readonly #ring: (string | undefined)[];
  /** Where the next line goes. */
  #next = 0;
  #size = 0;
  readonly #listeners = new Set<(rec: AuditRecord) => void>();

  constructor(capacity = RECENT_LINES) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new WardenError(
        "invalid_argument",
        `The recent decisions' capacity must be a whole number of lines, 1 or more (Gateway.start's recentDecisions); got ${capacity}.`,
        { category: "usage", details: { capacity } },
      );
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Keep `line` (one audit line's JSON text), dropping the oldest past the capacity. */
  push(line: string): void {
    this.#ring[this.#next] = line;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
    if (this.#listeners.size === 0) return;
    for (const l of this.#listeners) {
      try {
        l(JSON.parse(line) as AuditRecord);
      } catch {
        // a listener's failure is its own: the audit goes on
      }
    }
  }

  /** The lines kept, newest first, each parsed afresh (a copy the caller may keep). */
  *newest(): Generator<AuditRecord> {
    for (let i = 1; i <= this.#size; i++) {
      const line = this.#ring[(this.#next - i + this.capacity) % this.capacity]!;
      yield JSON.parse(line) as AuditRecord;
    }
  }

  /** Hear each line as it is kept (a fresh copy per listener); returns a function to stop. */
  listen(fn: (rec: AuditRecord) => void): () => void {
    const f = (r: AuditRecord) => fn(r);
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }
}
