import type { Call } from "../call.js";
import type { Decision } from "../decision.js";
import { WardenError } from "../errors.js";
import type { Strategy } from "../strategy.js";
import { Histogram } from "./histogram.js";

/** Options, as in wrt-intercept's StatisticsConfig. */
export interface StatisticsConfig {
  /** Time each call (before → after) and keep latency percentiles. Default true. */
  trackTiming?: boolean;
  /** Count calls whose target threw. Default true. */
  trackErrors?: boolean;
  /** Distinct (target, function) pairs tracked; later ones go to the overflow bucket. Default 1000. */
  maxFunctions?: number;
}

export interface FunctionStats {
  target: string;
  function: string;
  calls: number;
  errors: number;
  /** Latency in milliseconds (present when trackTiming is on and some call completed). */
  timing?: {
    mean_ms: number;
    p50_ms: number;
    p90_ms: number;
    p99_ms: number;
    max_ms: number;
    timed: number;
  };
}

export interface StatisticsSnapshot {
  functions: FunctionStats[];
  /** Calls to functions past the cap, counted together (never lost); null when none. */
  overflow: (FunctionStats & { distinct_functions: number }) | null;
  total_calls: number;
  total_errors: number;
}

export const OVERFLOW_TARGET = "(overflow)";

class Entry {
  calls = 0;
  errors = 0;
  readonly hist: Histogram | null;
  constructor(
    readonly target: string,
    readonly fn: string,
    timing: boolean,
  ) {
    this.hist = timing ? new Histogram() : null;
  }
}

/** Counts calls, errors and latency per (target, function). */
export class StatisticsStrategy implements Strategy {
  readonly name: string;
  readonly config: Readonly<Required<StatisticsConfig>>;
  readonly #byTarget = new Map<string, Map<string, Entry>>();
  #distinct = 0;
  #overflow: Entry;
  readonly #overflowNames = new Set<string>();
  readonly beforeCall?: (call: Call) => Decision | undefined;

  constructor(config: StatisticsConfig = {}, name = "statistics") {
    const maxFunctions = config.maxFunctions ?? 1000;
    if (!Number.isInteger(maxFunctions) || maxFunctions < 1) {
      throw new WardenError(
        "invalid_argument",
        `StatisticsStrategy: maxFunctions must be a positive integer (default 1000), got ${JSON.stringify(config.maxFunctions)}.`,
        { category: "usage", details: { option: "maxFunctions" } },
      );
    }
    this.name = name;
    this.config = Object.freeze({
      trackTiming: config.trackTiming ?? true,
      trackErrors: config.trackErrors ?? true,
      maxFunctions,
    });
    this.#overflow = new Entry(OVERFLOW_TARGET, OVERFLOW_TARGET, this.config.trackTiming);
    // Only timing needs a before hook; without it the chain skips this strategy before calls.
    if (this.config.trackTiming) {
      this.beforeCall = (call: Call) => {
        call.startedAt = performance.now();
        return undefined;
      };
    }
  }

  #entry(target: string, fn: string): Entry {
    let byFn = this.#byTarget.get(target);
    const e = byFn?.get(fn);
    if (e !== undefined) return e;
    if (this.#distinct >= this.config.maxFunctions) {
      if (this.#overflowNames.size < 100_000) this.#overflowNames.add(`${target}\u0000${fn}`);
      return this.#overflow;
    }
    if (byFn === undefined) {
      byFn = new Map();
      this.#byTarget.set(target, byFn);
    }
    const created = new Entry(target, fn, this.config.trackTiming);
    byFn.set(fn, created);
    this.#distinct++;
    return created;
  }

  afterCall(call: Call): void {
    const e = this.#entry(call.target, call.function);
    e.calls++;
    if (this.config.trackErrors && call.error !== undefined) e.errors++;
    if (e.hist !== null && call.startedAt !== undefined)
      e.hist.record((performance.now() - call.startedAt) * 1e6);
  }

  /** A copy of the numbers at this moment. */
  snapshot(): StatisticsSnapshot {
    const functions: FunctionStats[] = [];
    let totalCalls = 0;
    let totalErrors = 0;
    for (const byFn of this.#byTarget.values()) {
      for (const e of byFn.values()) {
        functions.push(this.#stats(e));
        totalCalls += e.calls;
        totalErrors += e.errors;
      }
    }
    functions.sort(
      (a, b) =>
        b.calls - a.calls ||
        a.target.localeCompare(b.target) ||
        a.function.localeCompare(b.function),
    );
    let overflow: StatisticsSnapshot["overflow"] = null;
    if (this.#overflow.calls > 0) {
      overflow = { ...this.#stats(this.#overflow), distinct_functions: this.#overflowNames.size };
      totalCalls += this.#overflow.calls;
      totalErrors += this.#overflow.errors;
    }
    return { functions, overflow, total_calls: totalCalls, total_errors: totalErrors };
  }

  /** Forget everything counted so far. */
  reset(): void {
    this.#byTarget.clear();
    this.#distinct = 0;
    this.#overflowNames.clear();
    this.#overflow = new Entry(OVERFLOW_TARGET, OVERFLOW_TARGET, this.config.trackTiming);
  }

  #stats(e: Entry): FunctionStats {
    const s: FunctionStats = { target: e.target, function: e.fn, calls: e.calls, errors: e.errors };
    const h = e.hist;
    if (h !== null && h.count > 0) {
      const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
      s.timing = {
        mean_ms: ms(h.sumNs / h.count),
        p50_ms: ms(h.percentile(50)),
        p90_ms: ms(h.percentile(90)),
        p99_ms: ms(h.percentile(99)),
        max_ms: ms(h.maxNs),
        timed: h.count,
      };
    }
    return s;
  }
}
