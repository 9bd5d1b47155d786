/**
 * The one benchmark harness every Warden benchmark uses.
 *
 * A case is a function run in batches; each batch is timed with `process.hrtime.bigint()` and
 * divided by its size, so the clock's own cost is spread over the batch. p50 and p99 are taken
 * over batch samples (per-operation nanoseconds). Async cases (`measureAsync`) time each
 * operation on its own, for work measured in microseconds or more.
 */
export interface CaseResult {
  name: string;
  /** The group (the bench file) this case belongs to. */
  group: string;
  p50_ns: number;
  p99_ns: number;
  ops_per_s: number;
  samples: number;
  /** Free-form notes: the peer compared with, the rule count, a goal. */
  note?: string;
}

export interface MeasureOptions {
  /** Operations per timed batch (sync only); chosen automatically when absent. */
  batch?: number;
  /** Timed samples to take. */
  samples?: number;
  /** Wall time budget for the case in ms (sampling stops early when exceeded). */
  budgetMs?: number;
  note?: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

function round(n: number): number {
  return n >= 100 ? Math.round(n) : Math.round(n * 10) / 10;
}

/** A case being sampled: its loop, batch size and the samples so far. */
interface Sampled {
  readonly run: (fn: () => unknown, n: number) => unknown;
  readonly fn: () => unknown;
  readonly batch: number;
  readonly per: number[];
  totalNs: number;
  ops: number;
}

let caseCounter = 0;
let sink: unknown;
/** Keep a value alive so the optimiser cannot drop the work that made it. */
export function blackhole(v: unknown): void {
  sink = v;
}
export function lastSink(): unknown {
  return sink;
}

export class Harness {
  readonly results: CaseResult[] = [];
  group = "";
  readonly quick: boolean;

  constructor(opts: { quick?: boolean } = {}) {
    this.quick = opts.quick ?? false;
  }

  /** Measure a synchronous operation. */
  measure(name: string, fn: () => unknown, opts: MeasureOptions = {}): CaseResult {
    const op = this.#prepare(fn, opts.batch);
    const wanted = opts.samples ?? (this.quick ? 200 : 2000);
    const budget = opts.budgetMs ?? (this.quick ? 200 : 1500);
    this.#sample(op, wanted, 20, performance.now() + budget);
    return this.#record(name, op.per, op.totalNs, op.ops, opts.note);
  }

  /**
   * Measure several synchronous operations in turns, so that each sees the same machine (on a
   * noisy VM speed swings 2-3x between minutes, which skews a ratio of two cases measured apart).
   * Each case is warmed up and its batch sized once; then `rounds` rounds (default 5) take
   * `samples / rounds` samples of each case within `budgetMs / rounds`, after a short re-warm,
   * in an order that alternates between rounds; each case's samples of all rounds make one
   * result. Results are returned (and recorded) in the order given.
   */
  interleave(
    cases: readonly { name: string; fn: () => unknown; note?: string }[],
    opts: { rounds?: number; samples?: number; budgetMs?: number } = {},
  ): CaseResult[] {
    const rounds = opts.rounds ?? 5;
    const ops = cases.map((c) => this.#prepare(c.fn, undefined));
    const wanted = Math.ceil((opts.samples ?? (this.quick ? 200 : 2000)) / rounds);
    const budget = (opts.budgetMs ?? (this.quick ? 200 : 1500)) / rounds;
    const rewarm = this.quick ? 2 : 5;
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < ops.length; j++) {
        const op = ops[r % 2 === 0 ? j : ops.length - 1 - j]!;
        const end = performance.now() + rewarm;
        while (performance.now() < end) blackhole(op.run(op.fn, op.batch));
        this.#sample(op, wanted, Math.ceil(20 / rounds), performance.now() + budget);
      }
    }
    return cases.map((c, i) => {
      const op = ops[i]!;
      return this.#record(c.name, op.per, op.totalNs, op.ops, c.note);
    });
  }

  /** A case's loop, warmed up, with its batch size (about 20 µs or more per batch). */
  #prepare(fn: () => unknown, fixedBatch: number | undefined): Sampled {
    // Each case gets its own loop function (a fresh inline cache), so one case's closures do not
    // make the call site megamorphic for the next case.
    const run = new Function(
      "fn",
      "n",
      // a unique source per case: V8 caches compiled code by source text.
      `/* case ${++caseCounter} */ let last; for (let i = 0; i < n; i++) last = fn(); return last;`,
    ) as (fn: () => unknown, n: number) => unknown;
    // Warm up and pick a batch size that takes about 20 µs or more.
    let batch = fixedBatch ?? 1;
    const warmEnd = performance.now() + (this.quick ? 20 : 150);
    while (performance.now() < warmEnd) blackhole(run(fn, 1000));
    if (fixedBatch === undefined) {
      // The smallest of three timings, so one GC pause or interrupt cannot stop the sizing at a
      // batch so small that the clock's own cost would be measured.
      for (;;) {
        let dt = Number.POSITIVE_INFINITY;
        for (let k = 0; k < 3; k++) {
          const t0 = process.hrtime.bigint();
          blackhole(run(fn, batch));
          dt = Math.min(dt, Number(process.hrtime.bigint() - t0));
        }
        if (dt >= 20_000 || batch >= 1 << 20) break;
        batch *= 2;
      }
    }
    return { run, fn, batch, per: [], totalNs: 0, ops: 0 };
  }

  /** Take `wanted` more samples (at least `min`, else until `deadline`). */
  #sample(op: Sampled, wanted: number, min: number, deadline: number): void {
    const { run, fn, batch, per } = op;
    let taken = 0;
    while (taken < wanted && (taken < min || performance.now() < deadline)) {
      const t0 = process.hrtime.bigint();
      blackhole(run(fn, batch));
      const dt = Number(process.hrtime.bigint() - t0);
      per.push(dt / batch);
      op.totalNs += dt;
      op.ops += batch;
      taken++;
    }
  }

  /** Measure an asynchronous operation; each one is timed alone. */
  async measureAsync(
    name: string,
    fn: () => Promise<unknown>,
    opts: MeasureOptions = {},
  ): Promise<CaseResult> {
    const warm = this.quick ? 5 : 50;
    for (let i = 0; i < warm; i++) blackhole(await fn());
    const wanted = opts.samples ?? (this.quick ? 50 : 1000);
    const deadline = performance.now() + (opts.budgetMs ?? (this.quick ? 500 : 5000));
    const per: number[] = [];
    let totalNs = 0;
    while (per.length < wanted && (per.length < 10 || performance.now() < deadline)) {
      const t0 = process.hrtime.bigint();
      blackhole(await fn());
      const dt = Number(process.hrtime.bigint() - t0);
      per.push(dt);
      totalNs += dt;
    }
    return this.#record(name, per, totalNs, per.length, opts.note);
  }

  /** Record a result measured some other way (a load generator, an external tool). */
  record(result: Omit<CaseResult, "group">): CaseResult {
    const r = { group: this.group, ...result };
    this.results.push(r);
    return r;
  }

  #record(name: string, per: number[], totalNs: number, ops: number, note?: string): CaseResult {
    per.sort((a, b) => a - b);
    const r: CaseResult = {
      name,
      group: this.group,
      p50_ns: round(percentile(per, 50)),
      p99_ns: round(percentile(per, 99)),
      ops_per_s: Math.round(ops / (totalNs / 1e9)),
      samples: per.length,
    };
    if (note !== undefined) r.note = note;
    this.results.push(r);
    return r;
  }
}

function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return "-";
  if (ns < 1_000) return `${ns} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}

/** A Markdown table of results, for people (and for the README). */
export function formatTable(results: readonly CaseResult[]): string {
  const rows = [
    "| group | case | p50 | p99 | ops/s | note |",
    "|---|---|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.group} | ${r.name} | ${fmtNs(r.p50_ns)} | ${fmtNs(r.p99_ns)} | ${r.ops_per_s.toLocaleString("en-US")} | ${r.note ?? ""} |`,
    ),
  ];
  return rows.join("\n");
}
