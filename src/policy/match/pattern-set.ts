import type { Test } from "../../core/glob.js";
import { deepFreeze } from "../freeze.js";

/** Anything with a source-order index; the lowest index wins among matches. */
export interface Ranked {
  readonly index: number;
}

/** Rules in source order with the first one's index (Infinity when empty): one object shape. */
interface Ruled<R> {
  index: number;
  readonly rules: R[];
}

interface Entry<R> {
  readonly rule: R;
  /** `rule.index`, kept here: rules of different sets have different shapes, entries one. */
  readonly index: number;
  readonly test: Test;
  /** The literal prefix (suffix, from the end) the glob was indexed under. */
  readonly affix: string;
  /** The affix's UTF-16 code units (a prefix compares against them: one string read per char). */
  readonly codes: Uint16Array;
  /** How the glob is checked: its test, or a literal comparison (see `GlobShape`). */
  readonly shape: GlobShape;
}

/**
 * What a glob means beyond its literal affix, so the common shapes need no test call:
 * `Test` (run the compiled test), `Affix` (`prefix*`, from the end `*suffix`: the affix alone
 * decides) and `Tree` (a path `/dir/**`: the input is `/dir` or starts with `/dir/`).
 */
export const GlobShape = { Test: 0, Affix: 1, Tree: 2 } as const;
export type GlobShape = (typeof GlobShape)[keyof typeof GlobShape];

/** Most distinct affix lengths probed per lookup; beyond it, globs share coarser buckets. */
const MAX_LENGTHS = 12;

/** One step of a 30-bit FNV-1a style hash over UTF-16 code units (stays a V8 small integer). */
export function step(h: number, c: number): number {
  return Math.imul(h ^ c, 16777619) & 0x3fffffff;
}

export const SEED = 0x2c9277b5 & 0x3fffffff;

/** The table key of (bucket length index, affix hash): never 0 (0 marks an empty slot). */
function slotKey(h: number, lengthIndex: number): number {
  return ((h ^ Math.imul(lengthIndex + 1, 0x9e3779b1)) & 0x3fffffff) + 1;
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

/** Hashes of the first `lengths[k]` characters of `s` into `out`; returns how many fit. */
export function hashPrefixes(s: string, lengths: readonly number[], out: Int32Array): number {
  const n = s.length;
  const m = lengths.length;
  let h = SEED;
  let k = 0;
  let i = 0;
  while (k < m) {
    const L = lengths[k]!;
    if (L > n) break; // no longer bucket fits: stop reading
    for (; i < L; i++) h = step(h, s.charCodeAt(i));
    out[k++] = h;
  }
  return k;
}

/** Hashes of the last `lengths[k]` characters of `s` (read from the end) into `out`. */
export function hashSuffixes(s: string, lengths: readonly number[], out: Int32Array): number {
  const n = s.length;
  const m = lengths.length;
  let h = SEED;
  let k = 0;
  let i = 0;
  while (k < m) {
    const L = lengths[k]!;
    if (L > n) break;
    for (; i < L; i++) h = step(h, s.charCodeAt(n - 1 - i));
    out[k++] = h;
  }
  return k;
}

/** Whether `s` starts with the code units `a` (measured faster than `String#startsWith` here). */
function startsWith(s: string, a: Uint16Array): boolean {
  const L = a.length;
  if (s.length < L) return false;
  for (let i = 0; i < L; i++) if (s.charCodeAt(i) !== a[i]) return false;
  return true;
}

function codesStartWith(codes: Uint16Array, n: number, a: Uint16Array): boolean {
  const L = a.length;
  if (n < L) return false;
  for (let i = 0; i < L; i++) if (codes[i] !== a[i]) return false;
  return true;
}

/** Affix hashes of one input at each planned length (checks are synchronous: one buffer). */
const SCRATCH = new Int32Array(MAX_LENGTHS);

/**
 * The bucket lengths for sets probed with one shared pass over the input: the distinct affix
 * lengths of all of them, cut to at most 12 chosen evenly (longer affixes then share the
 * bucket of a shorter length and are told apart by their test).
 */
export function lengthPlan(...sets: readonly PatternSet<Ranked>[]): number[] {
  const distinct = [...new Set(sets.flatMap((s) => s.affixLengths()))].sort((a, b) => a - b);
  if (distinct.length <= MAX_LENGTHS) return distinct;
  const out: number[] = [];
  for (let i = 0; i < MAX_LENGTHS; i++) {
    out.push(distinct[Math.floor((i * distinct.length) / MAX_LENGTHS)]!);
  }
  return [...new Set(out)];
}

/**
 * A length plan as a compiled policy holds it: the numbers kept in a private field, out of
 * reach of `deepFreeze` (reads from frozen arrays measured twice as slow in lookup loops).
 */
export class LengthPlan {
  readonly #lengths: number[];
  readonly #pairs: Int32Array | null;
  /** `pairs`: a pair filter (see `PatternSet.foldedPairs`) of every set the plan serves. */
  constructor(lengths: readonly number[], pairs: Int32Array | null = null) {
    this.#lengths = [...lengths];
    this.#pairs = pairs;
  }
  /** Whether the plan has a pair filter (`mayMatch` can say no). */
  get filtered(): boolean {
    return this.#pairs !== null;
  }
  /**
   * Whether an input whose first two characters, ASCII-folded to lower case, are `c0`, `c1`
   * (`c1` NaN for a one-character input) may match some pattern of the plan's sets.
   */
  mayMatch(c0: number, c1: number): boolean {
    const pairs = this.#pairs;
    return pairs === null || hasPair(pairs, c0, c1);
  }
  get count(): number {
    return this.#lengths.length;
  }
  at(k: number): number {
    return this.#lengths[k]!;
  }
  toArray(): number[] {
    return [...this.#lengths];
  }
  /** Hashes of `s`'s prefixes at these lengths into `out`; returns how many fit. */
  hashPrefixes(s: string, out: Int32Array): number {
    return hashPrefixes(s, this.#lengths, out);
  }
  /** `hashPrefixes` over the first `n` code units of `codes`. */
  hashCodes(codes: Uint16Array, n: number, out: Int32Array): number {
    const lengths = this.#lengths;
    const m = lengths.length;
    let h = SEED;
    let k = 0;
    let i = 0;
    for (; k < m; k++) {
      const L = lengths[k]!;
      if (L > n) break;
      for (; i < L; i++) h = step(h, codes[i]!);
      out[k] = h;
    }
    return k;
  }
  /** Hashes of `s`'s suffixes (read from the end) at these lengths into `out`. */
  hashSuffixes(s: string, out: Int32Array): number {
    return hashSuffixes(s, this.#lengths, out);
  }
}

/** Fewest bucket lengths in use from which a set (a name scan) filters on the first pair. */
export const FILTER_FROM = 3;

function bitCount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

/** The filter bit of a character pair (NaN, past the input's end, counts as 0). */
function pairOf(c0: number, c1: number): number {
  return ((c0 & 63) << 6) | (c1 & 63);
}

function asciiLower(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

/** A pair filter of `values` folded to lower case (one-character values: all 64 pairs). */
function foldedFilter(values: Iterable<string>): Int32Array {
  const bits = new Int32Array(128);
  for (const v of values) {
    const c0 = asciiLower(v.charCodeAt(0));
    if (v.length === 1) for (let c1 = 0; c1 < 64; c1++) setBit(bits, pairOf(c0, c1));
    else setBit(bits, pairOf(c0, asciiLower(v.charCodeAt(1))));
  }
  return bits;
}

/** Whether an input starting with `c0`, `c1` (NaN past its end) passes the pair filter. */
function hasPair(bits: Int32Array, c0: number, c1: number): boolean {
  const p = pairOf(c0, c1);
  return (bits[p >>> 5]! & (1 << (p & 31))) !== 0;
}

function setBit(bits: Int32Array, p: number): void {
  bits[p >>> 5] = bits[p >>> 5]! | (1 << (p & 31));
}

/**
 * The pair filter of a set's globs (see `PatternSet`): an affix of one character sets all 64
 * pairs it starts; an empty affix (a glob starting with a wildcard) disables the filter.
 */
function pairFilter(entries: readonly { affix: string }[]): Int32Array | null {
  const bits = new Int32Array(128);
  for (const { affix } of entries) {
    const n = affix.length;
    if (n === 0) return null;
    const c0 = affix.charCodeAt(0);
    if (n === 1) {
      for (let c1 = 0; c1 < 64; c1++) {
        setBit(bits, pairOf(c0, c1));
      }
      continue;
    }
    setBit(bits, pairOf(c0, affix.charCodeAt(1)));
  }
  return bits;
}

/** Scratch for callers hashing an input once for several sets (checks are synchronous). */
export const AFFIX_HASHES = new Int32Array(MAX_LENGTHS);

/**
 * Rules keyed by pattern, looked up without scanning the rules: exact strings in a Map; globs
 * bucketed by a hash of their literal prefix (or suffix, for host names) cut to one of at most
 * 12 lengths chosen from the patterns themselves. A lookup hashes the input's first (or last)
 * characters once and probes an open-addressed integer table (typed arrays, no Map) at each
 * bucket length, then checks only the globs in the probed buckets: a `prefix*` glob by
 * comparing its literal, others by their compiled test. The cost does not grow with the rule
 * count. Sets probed together (allow and deny of one section) can share one length plan, so
 * one pass over the input hashes for both (`probe`).
 */
export class PatternSet<R extends Ranked> {
  readonly #fromEnd: boolean;
  /** Exact values: their rules in source order and the first one's index (see `Ruled`). */
  #exact = new Map<string, Ruled<R>>();
  /** The catch-all rules (patterns matching everything), same shape; index Infinity: none. */
  #any: Ruled<R> = { index: Number.POSITIVE_INFINITY, rules: [] };
  #pending: Entry<R>[] = [];
  #lengths: readonly number[] = [];
  /** Open-addressed table: slot keys (0 = empty) and, per slot, an index into `#lists`. */
  #keys = new Int32Array(1);
  #slots = new Int32Array(1);
  #mask = 0;
  #lists: Entry<R>[][] = [];
  #maxLen = -1;
  /** Bit k set: some glob is bucketed at the plan's k-th length (others are not probed). */
  #used = 0;
  /**
   * Which first two characters the globs' affixes start with, each folded to its low 6 bits:
   * bit `(c0 & 63) << 6 | (c1 & 63)`. An input whose pair is not set matches no glob, so it
   * skips the table. Null when some affix is empty, and for sets indexed from the end.
   */
  #pairs: Int32Array | null = null;
  #size = 0;
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

  /** The bucket lengths in use (after `build`). */
  get lengths(): readonly number[] {
    return [...this.#lengths];
  }

  get fromEnd(): boolean {
    return this.#fromEnd;
  }

  addExact(value: string, rule: R): void {
    this.#open();
    const list = this.#exact.get(value);
    if (list) list.rules.push(rule);
    else this.#exact.set(value, { index: rule.index, rules: [rule] });
    this.#size++;
  }

  /** A pattern matching everything. */
  addAny(rule: R): void {
    this.#open();
    this.#any.rules.push(rule);
    this.#size++;
  }

  /**
   * A glob with its literal prefix (or suffix) and compiled test. `shape` (see `GlobShape`)
   * lets a literal comparison replace the test for `prefix*`, `*suffix` and `/dir/**`.
   */
  addGlob(affix: string, test: Test, rule: R, shape: GlobShape = GlobShape.Test): void {
    this.#open();
    const codes = new Uint16Array(affix.length);
    for (let i = 0; i < affix.length; i++) codes[i] = affix.charCodeAt(i);
    this.#pending.push({ affix, codes, test, rule, index: rule.index, shape });
    this.#size++;
  }

  /**
   * The pair filter of every pattern (exact values and glob affixes), ASCII-folded to lower
   * case: an input none of whose folded first two characters is set matches no pattern, in
   * any case. Null when a pattern matches everything or starts with a wildcard, or from the
   * end. Call after `build`.
   */
  foldedPairs(): Int32Array | null {
    if (this.#fromEnd || this.#any.rules.length > 0) return null;
    if (this.#lists.some((list) => list.some((e) => e.affix.length === 0))) return null;
    return foldedFilter([...this.#exact.keys(), ...this.#lists.flat().map((e) => e.affix)]);
  }

  /** Distinct literal affix lengths of the globs added so far (for `lengthPlan`). */
  affixLengths(): number[] {
    return [...new Set(this.#pending.map((p) => p.affix.length))];
  }

  #open(): void {
    if (this.#built) throw new TypeError("a built PatternSet is immutable");
  }

  /**
   * Build the table and freeze the rules; call once after the last add. `plan`: shared bucket
   * lengths from `lengthPlan` (it must cover this set's affix lengths); else this set's own.
   */
  build(plan?: readonly number[]): this {
    this.#open();
    this.#built = true;
    for (const list of this.#exact.values()) for (const r of list.rules) deepFreeze(r);
    for (const r of this.#any.rules) deepFreeze(r);
    for (const p of this.#pending) deepFreeze(p.rule);
    const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
    for (const list of [...this.#exact.values(), this.#any]) {
      list.rules.sort(byIndex);
      list.index = list.rules[0]?.index ?? Number.POSITIVE_INFINITY;
    }
    const lengths = plan ?? lengthPlan(this as unknown as PatternSet<Ranked>);
    // Not frozen: reads from frozen arrays measured twice as slow in the lookup loop.
    this.#lengths = [...lengths];
    this.#maxLen = lengths.length > 0 ? lengths[lengths.length - 1]! : -1;
    const byKey = new Map<number, Entry<R>[]>();
    for (const entry of this.#pending) {
      this.#minGlobIndex = Math.min(this.#minGlobIndex, entry.rule.index);
      let li = lengths.length - 1;
      while (li > 0 && lengths[li]! > entry.affix.length) li--;
      const L = lengths[li]!;
      if (L > entry.affix.length) throw new TypeError("the length plan does not cover the set");
      const h = this.#fromEnd ? hashSuffix(entry.affix, L) : hashPrefix(entry.affix, L);
      const key = slotKey(h, li);
      this.#used |= 1 << li;
      const list = byKey.get(key);
      if (list) list.push(entry);
      else byKey.set(key, [entry]);
    }
    // From the end (host names) the last two characters are mostly a top-level domain's. With
    // globs at one or two lengths a probe costs about what the filter does (measured): none.
    this.#pairs =
      this.#fromEnd || bitCount(this.#used) < FILTER_FROM ? null : pairFilter(this.#pending);
    let cap = 8;
    while (cap < byKey.size * 2) cap *= 2;
    this.#keys = new Int32Array(cap);
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    for (const [key, list] of byKey) {
      list.sort((x, y) => byIndex(x.rule, y.rule));
      let i = key & this.#mask;
      while (this.#keys[i] !== 0) i = (i + 1) & this.#mask;
      this.#keys[i] = key;
      this.#slots[i] = this.#lists.length;
      this.#lists.push(list);
    }
    this.#pending = [];
    return this;
  }

  /** Every glob entry, before or after `build`. */
  #globs(): readonly Entry<R>[] {
    return this.#built ? this.#lists.flat() : this.#pending;
  }

  /**
   * The rule first in the source among those that may match `dir` or a path under it
   * (`dir/...`), or undefined when none can: for judging a whole tree at once (a WASI preopen).
   * Conservative: a glob counts when its literal prefix and the tree's overlap (its test may
   * still match nothing there), a glob indexed from the end always counts.
   */
  mayMatchUnder(dir: string): R | undefined {
    const under = dir.endsWith("/") ? dir : `${dir}/`;
    let best: R | undefined = this.#any.rules[0];
    const take = (r: R) => {
      if (best === undefined || r.index < best.index) best = r;
    };
    for (const [value, list] of this.#exact)
      if (value === dir || value.startsWith(under)) take(list.rules[0]!);
    for (const e of this.#globs())
      if (this.#fromEnd || e.affix.startsWith(under) || under.startsWith(e.affix)) take(e.rule);
    return best;
  }

  /**
   * The rule first in the source among those that match `dir` and every path under it (a
   * pattern matching everything, or a `/a/**` tree glob whose `/a` is `dir` or above it).
   */
  coversTree(dir: string): R | undefined {
    let best: R | undefined = this.#any.rules[0];
    if (this.#fromEnd) return best;
    for (const e of this.#globs()) {
      if (e.shape !== GlobShape.Tree) continue;
      if (dir === e.affix || dir.startsWith(e.affix === "/" ? "/" : `${e.affix}/`))
        if (best === undefined || e.rule.index < best.index) best = e.rule;
    }
    return best;
  }

  /** The matching rule that comes first in the source, or undefined. */
  first(s: string): R | undefined {
    const { index: bi, rules } = this.#exactOrAny(s);
    const best = rules[0];
    if (this.#maxLen < 0 || bi < this.#minGlobIndex) return best;
    const pairs = this.#pairs;
    if (pairs !== null && !hasPair(pairs, s.charCodeAt(0), s.charCodeAt(1))) return best;
    const k = this.#fromEnd
      ? hashSuffixes(s, this.#lengths, SCRATCH)
      : hashPrefixes(s, this.#lengths, SCRATCH);
    return this.#probeGlobs(s, SCRATCH, k, best, bi);
  }

  /**
   * `first` with the affix hashes already computed by the caller's own pass over `s`:
   * `hashes[k]` is the hash of the first (last) `lengths[k]` characters for `k < count`
   * (the lengths of the shared plan that fit in `s`).
   */
  probe(s: string, hashes: Int32Array, count: number): R | undefined {
    const pairs = this.#pairs;
    // The common shape inline (no exact patterns, no catch-all): one call per check.
    if (this.#exact.size === 0 && this.#any.rules.length === 0) {
      if (this.#maxLen < 0) return undefined;
      if (pairs !== null && !hasPair(pairs, s.charCodeAt(0), s.charCodeAt(1))) return undefined;
      return this.#probeGlobs(s, hashes, count, undefined, Number.POSITIVE_INFINITY);
    }
    const { index: bi, rules } = this.#exactOrAny(s);
    const best = rules[0];
    if (this.#maxLen < 0 || bi < this.#minGlobIndex) return best;
    if (pairs !== null && !hasPair(pairs, s.charCodeAt(0), s.charCodeAt(1))) return best;
    return this.#probeGlobs(s, hashes, count, best, bi);
  }

  /**
   * `probe` on an input held as code units (`codes[0..n)`, hashed by `LengthPlan.hashCodes`)
   * without its string: null when the answer needs the string (exact patterns, globs matched
   * by a test, affixes from the end); then ask `probe` with it.
   */
  probeCodes(
    codes: Uint16Array,
    n: number,
    hashes: Int32Array,
    count: number,
  ): R | undefined | null {
    if (this.#exact.size !== 0 || this.#fromEnd) return null;
    let best: R | undefined = this.#any.rules[0];
    let bi = this.#any.index;
    if (this.#maxLen < 0 || bi < this.#minGlobIndex) return best;
    const pairs = this.#pairs;
    if (pairs !== null && !hasPair(pairs, n > 0 ? codes[0]! : 0, n > 1 ? codes[1]! : 0)) {
      return best;
    }
    const keys = this.#keys;
    const mask = this.#mask;
    const used = this.#used;
    for (let k = 0; k < count; k++) {
      if ((used & (1 << k)) === 0) continue;
      const key = slotKey(hashes[k]!, k);
      let i = key & mask;
      for (;;) {
        const found = keys[i]!;
        if (found === key) {
          const list = this.#lists[this.#slots[i]!]!;
          for (let j = 0; j < list.length; j++) {
            const e = list[j]!;
            if (e.index >= bi) break;
            if (e.shape === GlobShape.Test) return null;
            const L = e.codes.length;
            if (
              codesStartWith(codes, n, e.codes) &&
              (e.shape === GlobShape.Affix || n === L || codes[L] === 47)
            ) {
              best = e.rule;
              bi = e.index;
              break;
            }
          }
          break;
        }
        if (found === 0) break;
        i = (i + 1) & mask;
      }
    }
    return best;
  }

  /** The exact value's rules or the catch-all ones, whichever comes first in the source. */
  #exactOrAny(s: string): Ruled<R> {
    // No exact patterns (path and host sets often): skip hashing the whole input for the Map.
    const x = this.#exact.size === 0 ? undefined : this.#exact.get(s);
    return x !== undefined && x.index < this.#any.index ? x : this.#any;
  }

  /**
   * The globs in the probed buckets: the first in source order (before `best`, whose index is
   * `bi`) that matches `s`, else `best`. Indexes are read from the entries (one shape), never
   * from the rules (a shape per kind of rule: loads from them go polymorphic).
   */
  #probeGlobs(
    s: string,
    hashes: Int32Array,
    count: number,
    best: R | undefined,
    bi: number,
  ): R | undefined {
    const keys = this.#keys;
    const mask = this.#mask;
    const used = this.#used;
    const minGlob = this.#minGlobIndex;
    for (let k = 0; k < count; k++) {
      if ((used & (1 << k)) === 0) continue;
      const key = slotKey(hashes[k]!, k);
      let i = key & mask;
      for (;;) {
        const found = keys[i]!;
        if (found === key) {
          const list = this.#lists[this.#slots[i]!]!;
          for (let j = 0; j < list.length; j++) {
            const e = list[j]!;
            if (e.index >= bi) break;
            if (this.#matches(e, s)) {
              best = e.rule;
              bi = e.index;
              break;
            }
          }
          // No glob comes before the first one: the longer buckets cannot do better.
          if (bi <= minGlob) return best;
          break;
        }
        if (found === 0) break;
        i = (i + 1) & mask;
      }
    }
    return best;
  }

  #matches(e: Entry<R>, s: string): boolean {
    switch (e.shape) {
      case GlobShape.Affix:
        return this.#fromEnd ? s.endsWith(e.affix) : startsWith(s, e.codes);
      case GlobShape.Tree: {
        const L = e.codes.length;
        return startsWith(s, e.codes) && (s.length === L || s.charCodeAt(L) === 47);
      }
      default:
        return e.test(s);
    }
  }

  /** Every matching rule, in source order. */
  all(s: string): R[] {
    const out: R[] = [...(this.#exact.get(s)?.rules ?? []), ...this.#any.rules];
    const n = s.length;
    for (let k = 0; k < this.#lengths.length; k++) {
      const L = this.#lengths[k]!;
      if (L > n) break;
      const key = slotKey(this.#fromEnd ? hashSuffix(s, L) : hashPrefix(s, L), k);
      let i = key & this.#mask;
      while (this.#keys[i] !== 0) {
        if (this.#keys[i] === key) {
          for (const e of this.#lists[this.#slots[i]!]!) if (e.test(s)) out.push(e.rule);
          break;
        }
        i = (i + 1) & this.#mask;
      }
    }
    return out.sort((a, b) => a.index - b.index);
  }
}
