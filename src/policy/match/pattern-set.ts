import type { Test } from "./glob.js";

/** Anything with a source-order index; the lowest index wins among matches. */
export interface Ranked {
  readonly index: number;
}

interface Entry<R> {
  readonly rule: R;
  readonly test: Test;
}

const MAX_LENGTHS = 8;

/**
 * Rules keyed by pattern, looked up without scanning: exact strings in a Map; globs bucketed
 * by their literal prefix (or suffix, for hosts) cut to one of at most 8 lengths chosen from
 * the patterns themselves. A lookup makes at most one Map probe per length plus the full
 * tests of the few globs that share the probed prefix, so the cost does not grow with the
 * number of rules.
 */
export class PatternSet<R extends Ranked> {
  readonly #fromEnd: boolean;
  #exact = new Map<string, R[]>();
  #any: R[] = [];
  #pending: { affix: string; entry: Entry<R> }[] = [];
  #lengths: number[] = [];
  #buckets: Map<string, Entry<R>[]>[] = [];
  #size = 0;

  /** `fromEnd`: index globs by their literal suffix (host names) instead of prefix. */
  constructor(fromEnd = false) {
    this.#fromEnd = fromEnd;
  }

  get size(): number {
    return this.#size;
  }

  addExact(value: string, rule: R): void {
    const list = this.#exact.get(value);
    if (list) list.push(rule);
    else this.#exact.set(value, [rule]);
    this.#size++;
  }

  /** A pattern matching everything. */
  addAny(rule: R): void {
    this.#any.push(rule);
    this.#size++;
  }

  /** A glob with its literal prefix (or suffix) and compiled test. */
  addGlob(affix: string, test: Test, rule: R): void {
    this.#pending.push({ affix, entry: { rule, test } });
    this.#size++;
  }

  /** Build the buckets; call once after the last add. */
  build(): this {
    const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
    for (const list of this.#exact.values()) list.sort(byIndex);
    this.#any.sort(byIndex);
    const distinct = [...new Set(this.#pending.map((p) => p.affix.length))].sort((a, b) => a - b);
    let lengths = distinct;
    if (distinct.length > MAX_LENGTHS) {
      lengths = [];
      for (let i = 0; i < MAX_LENGTHS; i++) {
        lengths.push(distinct[Math.floor((i * distinct.length) / MAX_LENGTHS)]!);
      }
      lengths = [...new Set(lengths)];
    }
    this.#lengths = lengths;
    this.#buckets = lengths.map(() => new Map());
    for (const { affix, entry } of this.#pending) {
      let li = lengths.length - 1;
      while (lengths[li]! > affix.length) li--;
      const L = lengths[li]!;
      const key = this.#fromEnd ? affix.slice(affix.length - L) : affix.slice(0, L);
      const bucket = this.#buckets[li]!;
      const list = bucket.get(key);
      if (list) list.push(entry);
      else bucket.set(key, [entry]);
    }
    for (const b of this.#buckets)
      for (const list of b.values()) list.sort((x, y) => byIndex(x.rule, y.rule));
    this.#pending = [];
    return this;
  }

  /** The matching rule that comes first in the source, or undefined. */
  first(s: string): R | undefined {
    let best: R | undefined = this.#exact.get(s)?.[0];
    const any = this.#any[0];
    if (any !== undefined && (best === undefined || any.index < best.index)) best = any;
    const lengths = this.#lengths;
    const n = s.length;
    for (let i = 0; i < lengths.length; i++) {
      const L = lengths[i]!;
      if (L > n) break;
      const list = this.#buckets[i]!.get(
        L === 0 ? "" : this.#fromEnd ? s.slice(n - L) : s.slice(0, L),
      );
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const e = list[j]!;
        if (best !== undefined && e.rule.index >= best.index) break;
        if (e.test(s)) {
          best = e.rule;
          break;
        }
      }
    }
    return best;
  }

  /** Every matching rule, in source order. */
  all(s: string): R[] {
    const out: R[] = [...(this.#exact.get(s) ?? []), ...this.#any];
    const n = s.length;
    for (let i = 0; i < this.#lengths.length; i++) {
      const L = this.#lengths[i]!;
      if (L > n) break;
      const list = this.#buckets[i]!.get(
        L === 0 ? "" : this.#fromEnd ? s.slice(n - L) : s.slice(0, L),
      );
      if (list) for (const e of list) if (e.test(s)) out.push(e.rule);
    }
    return out.sort((a, b) => a.index - b.index);
  }
}
