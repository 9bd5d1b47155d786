/** The lower-level API (prepareModule, createBudget, runWithBudget, instantiateCore). */
import { describe, expect, it } from "vitest";
import { isWardenError, type WardenError } from "../../src/core/errors.js";
import { createBudget, runWithBudget } from "../../src/sandbox/core-api.js";
import { prepareModule } from "../../src/sandbox/prepare.js";
import { fixture, watToWasm } from "./helpers.js";

function caught(fn: () => unknown): WardenError {
  try {
    fn();
  } catch (error) {
    expect(isWardenError(error)).toBe(true);
    return error as WardenError;
  }
  throw new Error("expected an error");
}

type Fn = (...a: number[]) => unknown;

describe("createBudget / runWithBudget / instantiateCore", () => {
  it("runs prepared core modules under one deadline", async () => {
    const budget = createBudget({ timeout_ms: 20 }, "core-loop");
    const { module } = await prepareModule(await fixture("loop"), { name: "core-loop" });
    const inst = await runWithBudget(budget, () => budget.instantiateCore(module, {}));
    const e = caught(() => runWithBudget(budget, () => (inst.exports.evaluate as Fn)(0, 0)));
    expect(e.code).toBe("timeout");
    expect(e.details).toMatchObject({ plugin: "core-loop", limit: "timeout_ms" });
    // outside a run, guest code fails closed
    const outside = caught(() => (inst.exports.evaluate as Fn)(0, 0));
    expect(outside.code).toBe("trap");
    expect(outside.message).toMatch(/runWithBudget/);
  });

  it("shares one fuel budget across instances, and imported memories work", async () => {
    const a = await watToWasm(`(module
      (memory (export "mem") 1)
      (func (export "work") (param $n i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i32.store (i32.const 0) (local.get $i))))`);
    const b = await watToWasm(`(module
      (import "a" "mem" (memory 1))
      (import "a" "work" (func $work (param i32)))
      (func (export "run") (param $n i32) (result i32)
        (call $work (local.get $n)) (call $work (local.get $n)) (i32.load (i32.const 0))))`);
    const limits = { fuel: 1_000_000, timeout_ms: 5_000 };
    const pa = await prepareModule(a, { name: "a", limits });
    const pb = await prepareModule(b, { name: "b", limits });
    const budget = createBudget(limits, "pair");
    const ia = await runWithBudget(budget, () => budget.instantiateCore(pa.module, {}));
    const ib = await runWithBudget(budget, () =>
      budget.instantiateCore(pb.module, { a: { mem: ia.exports.mem!, work: ia.exports.work! } }),
    );
    expect(runWithBudget(budget, () => (ib.exports.run as Fn)(1000))).toBe(1000);
    const small = budget.fuelUsed;
    expect(small).toBeGreaterThan(2000);
    runWithBudget(budget, () => (ib.exports.run as Fn)(100_000));
    expect(budget.fuelUsed).toBeGreaterThan(200_000);
    const e = caught(() => runWithBudget(budget, () => (ib.exports.run as Fn)(600_000)));
    expect(e.code).toBe("fuel_exhausted");
  });

  it("caps memory and reports memory_exceeded", async () => {
    const limits = { memory_limit_bytes: 1 << 20, timeout_ms: 30_000 };
    const { module } = await prepareModule(await fixture("grow-bomb"), { name: "bomb", limits });
    const budget = createBudget(limits, "bomb");
    const inst = await runWithBudget(budget, () => budget.instantiateCore(module, {}));
    const e = caught(() => runWithBudget(budget, () => (inst.exports.evaluate as Fn)(0, 0)));
    expect(e.code).toBe("memory_exceeded");
    expect((inst.exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(1 << 20);
  });

  it("refuses modules that import Warden's own metering (they could refill their fuel)", async () => {
    const sneaky = await watToWasm(`(module
      (import "warden_rt" "fuel" (global $f (mut i32)))
      (memory (export "memory") 1)
      (func (export "evaluate") (param i32 i32) (result i64)
        (loop $l (global.set $f (i32.const 1000000)) (br $l)) (i64.const 0)))`);
    const e = await prepareModule(sneaky, { name: "sneaky" }).catch((x) => x);
    expect(e.code).toBe("link_error");
    expect(e.details).toMatchObject({ import: "warden_rt.fuel" });
  });

  it("refuses modules that were not prepared, and async runs settle the budget", async () => {
    const budget = createBudget({}, "raw");
    const raw = new WebAssembly.Module(await fixture("allow"));
    const e = await runWithBudget(budget, () => budget.instantiateCore(raw, {})).catch((x) => x);
    expect(e.code).toBe("link_error");
    expect(budget.active).toBe(false);
  });
});
