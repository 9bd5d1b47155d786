import { deepFreeze } from "../freeze.js";
import type { Test } from "./glob.js";

/** Anything with a source-order index; the lowest index wins among matches. */
export interface Ranked {
  readonly index: number;
}

interface Entry<R> {
  readonly rule: R;
  readonly test: Test;
}

/** Most distinct affix lengths probed per lookup; beyond it, globs share coarser buckets. */
const MAX_LENGTHS = 12;

/** One step of a 30-bit FNV-1a style hash over UTF-16 code units (stays a V8 small integer). */
function step(h: number, c: number): number {
  return Math.imul(h ^ c, 16777619) & 0x3fffffff;
}

const SEED = 0x2c9277b5 & 0x3fffffff;

/** 2^16 bits: a bucket probe is skipped unless its (length, hash) bit is set. */
const BLOOM_WORDS = 2048;
function bloomBit(h: number, lengthIndex: number): number {
  return (h ^ Math.imul(lengthIndex + 1, 0x9e3779b1)) & 0xffff;
}

function hashPrefix(s: string, len: number): number {
  let h = SEED;
  for (let i = 0; i < len; i++) h = step(h, s.charCodeAt(i));
  return h;
}

function hashSuffix(s: string, len: number): number {
  let h = SEED;
  for (let i = s.length - 1; i >= s.length - len; i--) h = step(h, s.charCodeAt(i));
  return h;
}

/** The first entry (in source order, before `best`) whose test passes, else `best`. */
function firstPassing<R extends Ranked>(
  list: readonly Entry<R>[],
  s: string,
  best: R | undefined,
): R | undefined {
  for (let j = 0; j < list.length; j++) {
    const e = list[j]!;
    if (best !== undefined && e.rule.index >= best.index) return best;
    if (e.test(s)) return e.rule;
  }
  return best;
}

/**
 * Rules keyed by pattern, looked up without scanning the rules: exact strings in a Map; globs
 * bucketed by a hash of their literal prefix (or suffix, for host names) cut to one of at most
 * 12 lengths chosen from the patterns themselves. A lookup hashes the input's first (or last)
 * characters once, probing one integer-keyed Map at each bucket length, then runs the full
 * test of only the globs in the probed buckets. The cost does not grow with the rule count.
 */
export class PatternSet<R extends Ranked> {
  readonly #fromEnd: boolean;
  #exact = new Map<string, R[]>();
  #any: R[] = [];
  #pending: { affix: string; entry: Entry<R> }[] = [];
  #lengths: number[] = [];
  #buckets: Map<number, Entry<R>[]>[] = [];
  #maxLen = -1;
  #size = 0;
  /** One bit per (length, hash) bucket present: a no-match skips the Map probes. */
  #bloom = new Uint32Array(0);
  /** Lowest source index among the globs: an earlier exact match needs no glob probing. */
  #minGlobIndex = Number.POSITIVE_INFINITY;
  #built = false;

  /** `fromEnd`: index globs by their literal suffix (host names) instead of prefix. */
  constructor(fromEnd = false) {
    this.#fromEnd = fromEnd;
  }

  get size(): number {
    return this.#size;
  }

  addExact(value: string, rule: R): void {
    this.#open();
    const list = this.#exact.get(value);
    if (list) list.push(rule);
    else this.#exact.set(value, [rule]);
    this.#size++;
  }

  /** A pattern matching everything. */
  addAny(rule: R): void {
    this.#open();
    this.#any.push(rule);
    this.#size++;
  }

  /** A glob with its literal prefix (or suffix) and compiled test. */
  addGlob(affix: string, test: Test, rule: R): void {
    this.#open();
    this.#pending.push({ affix, entry: { rule, test } });
    this.#size++;
  }

  #open(): void {
    if (this.#built) throw new TypeError("a built PatternSet is immutable");
  }

  /** Build the buckets and freeze the rules; call once after the last add. */
  build(): this {
    this.#open();
    this.#built = true;
    for (const list of this.#exact.values()) for (const r of list) deepFreeze(r);
    for (const r of this.#any) deepFreeze(r);
    for (const p of this.#pending) deepFreeze(p.entry.rule);
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
    this.#maxLen = lengths.length > 0 ? lengths[lengths.length - 1]! : -1;
    this.#buckets = lengths.map(() => new Map());
    this.#bloom = new Uint32Array(lengths.length === 0 ? 0 : BLOOM_WORDS);
    for (const { entry } of this.#pending) {
      this.#minGlobIndex = Math.min(this.#minGlobIndex, entry.rule.index);
    }
    for (const { affix, entry } of this.#pending) {
      let li = lengths.length - 1;
      while (lengths[li]! > affix.length) li--;
      const L = lengths[li]!;
      const key = this.#fromEnd ? hashSuffix(affix, L) : hashPrefix(affix, L);
      const bucket = this.#buckets[li]!;
      const bit = bloomBit(key, li);
      this.#bloom[bit >>> 5]! |= 1 << (bit & 31);
      const list = bucket.get(key);
      if (list) list.push(entry);
      else bucket.set(key, [entry]);
    }
    for (const b of this.#buckets) {
      for (const list of b.values()) list.sort((x, y) => byIndex(x.rule, y.rule));
    }
    this.#pending = [];
    return this;
  }

  /** The matching rule that comes first in the source, or undefined. */
  first(s: string): R | undefined {
    // No exact patterns (path and host sets often): skip hashing the whole input for the Map.
    const exact = this.#exact.size === 0 ? undefined : this.#exact.get(s);
    let best: R | undefined = exact === undefined ? undefined : exact[0];
    const any = this.#any[0];
    if (any !== undefined && (best === undefined || any.index < best.index)) best = any;
    if (this.#maxLen < 0 || (best !== undefined && best.index < this.#minGlobIndex)) return best;
    return this.#fromEnd ? this.#globsFromEnd(s, best) : this.#globsFromStart(s, best);
  }

  #globsFromStart(s: string, best: R | undefined): R | undefined {
    const lengths = this.#lengths;
    const buckets = this.#buckets;
    const bloom = this.#bloom;
    const n = s.length;
    let h = SEED;
    let k = 0;
    for (let i = 0; ; i++) {
      if (i === lengths[k]) {
        const bit = bloomBit(h, k);
        if ((bloom[bit >>> 5]! & (1 << (bit & 31))) !== 0) {
          const list = buckets[k]!.get(h);
          if (list !== undefined) best = firstPassing(list, s, best);
        }
        if (++k === lengths.length) break;
      }
      if (i >= n) break;
      h = step(h, s.charCodeAt(i));
    }
    return best;
  }

  #globsFromEnd(s: string, best: R | undefined): R | undefined {
    const lengths = this.#lengths;
    const buckets = this.#buckets;
    const bloom = this.#bloom;
    const n = s.length;
    let h = SEED;
    let k = 0;
    for (let i = 0; ; i++) {
      if (i === lengths[k]) {
        const bit = bloomBit(h, k);
        if ((bloom[bit >>> 5]! & (1 << (bit & 31))) !== 0) {
          const list = buckets[k]!.get(h);
          if (list !== undefined) best = firstPassing(list, s, best);
        }
        if (++k === lengths.length) break;
      }
      if (i >= n) break;
      h = step(h, s.charCodeAt(n - 1 - i));
    }
    return best;
  }

  /** Every matching rule, in source order. */
  all(s: string): R[] {
    const out: R[] = [...(this.#exact.get(s) ?? []), ...this.#any];
    const n = s.length;
    for (let k = 0; k < this.#lengths.length; k++) {
      const L = this.#lengths[k]!;
      if (L > n) break;
      const list = this.#buckets[k]!.get(this.#fromEnd ? hashSuffix(s, L) : hashPrefix(s, L));
      if (list) for (const e of list) if (e.test(s)) out.push(e.rule);
    }
    return out.sort((a, b) => a.index - b.index);
  }
}
