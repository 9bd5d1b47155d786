import { describe, expect, it } from "vitest";
import { makeCall } from "../../src/core/call.js";
import { Chain } from "../../src/core/chain.js";
import { Histogram } from "../../src/core/strategies/histogram.js";
import { OVERFLOW_TARGET, StatisticsStrategy } from "../../src/core/strategies/statistics.js";

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

describe("statistics strategy", () => {
  it("counts calls and errors per target and function, with latency percentiles", () => {
    const stats = new StatisticsStrategy();
    const chain = new Chain("c", [stats]);
    for (let i = 0; i < 5; i++) chain.invoke(makeCall("s", "files", "read"), () => busy(2));
    chain.invoke(makeCall("s", "files", "write"), () => 1);
    expect(() =>
      chain.invoke(makeCall("s", "files", "write"), () => {
        throw new Error("disk");
      }),
    ).toThrow();
    const snap = stats.snapshot();
    expect(snap.total_calls).toBe(7);
    expect(snap.total_errors).toBe(1);
    const read = snap.functions.find((f) => f.function === "read")!;
    expect(read).toMatchObject({ target: "files", calls: 5, errors: 0 });
    expect(read.timing!.timed).toBe(5);
    expect(read.timing!.p50_ms).toBeGreaterThanOrEqual(1.7); // 2 ms spins, bucket resolution 12.5%
    expect(read.timing!.max_ms).toBeGreaterThanOrEqual(read.timing!.p50_ms);
    expect(snap.functions.find((f) => f.function === "write")).toMatchObject({
      calls: 2,
      errors: 1,
    });
    expect(snap.overflow).toBeNull();
  });

  it("trackTiming: false keeps no latency and adds no before hook", () => {
    const stats = new StatisticsStrategy({ trackTiming: false });
    expect(stats.beforeCall).toBeUndefined();
    const chain = new Chain("c", [stats]);
    chain.invoke(makeCall("s", "t", "f"), () => 1);
    expect(stats.snapshot().functions[0]).toEqual({
      target: "t",
      function: "f",
      calls: 1,
      errors: 0,
    });
  });

  it("trackErrors: false does not count errors", () => {
    const stats = new StatisticsStrategy({ trackErrors: false });
    const chain = new Chain("c", [stats]);
    expect(() =>
      chain.invoke(makeCall("s", "t", "f"), () => {
        throw new Error("x");
      }),
    ).toThrow();
    expect(stats.snapshot()).toMatchObject({ total_calls: 1, total_errors: 0 });
  });

  it("at the maxFunctions cap, new functions are counted in the overflow bucket, never lost", () => {
    const stats = new StatisticsStrategy({ maxFunctions: 3 });
    const chain = new Chain("c", [stats]);
    for (let i = 0; i < 10; i++) chain.invoke(makeCall("s", "t", `f${i}`), () => 1);
    chain.invoke(makeCall("s", "t", "f0"), () => 1); // tracked ones keep counting
    chain.invoke(makeCall("s", "t", "f9"), () => 1);
    const snap = stats.snapshot();
    expect(snap.functions.map((f) => f.function).sort()).toEqual(["f0", "f1", "f2"]);
    expect(snap.functions.find((f) => f.function === "f0")!.calls).toBe(2);
    expect(snap.overflow).toMatchObject({
      target: OVERFLOW_TARGET,
      calls: 8,
      distinct_functions: 7,
    });
    expect(snap.total_calls).toBe(12);
  });

  it("defaults to maxFunctions 1000 and rejects a bad cap", () => {
    expect(new StatisticsStrategy().config).toEqual({
      trackTiming: true,
      trackErrors: true,
      maxFunctions: 1000,
    });
    expect(() => new StatisticsStrategy({ maxFunctions: 0 })).toThrow(
      /maxFunctions must be a positive integer/,
    );
  });

  it("reset forgets everything", () => {
    const stats = new StatisticsStrategy({ maxFunctions: 1 });
    const chain = new Chain("c", [stats]);
    chain.invoke(makeCall("s", "t", "a"), () => 1);
    chain.invoke(makeCall("s", "t", "b"), () => 1);
    stats.reset();
    expect(stats.snapshot()).toEqual({
      functions: [],
      overflow: null,
      total_calls: 0,
      total_errors: 0,
    });
  });
});

describe("histogram", () => {
  it("percentiles are within 12.5% of the exact value", () => {
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 1; i <= 10_000; i++) {
      const v = Math.round(37 * i ** 1.5);
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 90, 99]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
      const got = h.percentile(p);
      expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.125);
    }
    expect(h.percentile(100)).toBe(values.at(-1));
  });
});
