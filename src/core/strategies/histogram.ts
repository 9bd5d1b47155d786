/**
 * A fixed-size log-linear latency histogram: recording is allocation-free and O(1); percentiles
 * are within 12.5% of the true value (8 sub-buckets per power of two). Values are nanoseconds,
 * clamped to [0, 2^31) (about 2.1 s; larger values land in the last bucket, and `max` is exact).
 */
const LINEAR = 16; // values 0..15 ns each get their own bucket
const SUB = 8;
const POWERS = 31 - 4; // exponents 4..30
const SIZE = LINEAR + POWERS * SUB;

export class Histogram {
  readonly #counts = new Uint32Array(SIZE);
  count = 0;
  sumNs = 0;
  maxNs = 0;
  minNs = Number.POSITIVE_INFINITY;

  record(ns: number): void {
    if (!(ns >= 0)) ns = 0;
    this.count++;
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
    if (ns < this.minNs) this.minNs = ns;
    const v = ns >= 2147483647 ? 2147483647 : ns | 0;
    let idx: number;
    if (v < LINEAR) idx = v;
    else {
      const exp = 31 - Math.clz32(v);
      idx = LINEAR + (exp - 4) * SUB + ((v >>> (exp - 3)) & (SUB - 1));
    }
    this.#counts[idx]!++;
  }

  /** The value at percentile p (0..100), as the upper edge of its bucket, capped at max. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.#counts[i]!;
      if (seen >= target) return Math.min(upperEdge(i), this.maxNs);
    }
    return this.maxNs;
  }
}

function upperEdge(idx: number): number {
  if (idx < LINEAR) return idx;
  const k = idx - LINEAR;
  const exp = 4 + Math.floor(k / SUB);
  const sub = k % SUB;
  return (SUB + sub + 1) * 2 ** (exp - 3) - 1;
}
