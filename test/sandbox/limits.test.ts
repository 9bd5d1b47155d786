/** The hostile corpus: every limit and error code, asserted by exact code and details. */
import { describe, expect, it } from "vitest";
import { isWardenError, type WardenError } from "../../src/core/errors.js";
import { loadPlugin } from "../../src/sandbox/plugin.js";
import { fixture } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<WardenError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isWardenError(error), `expected a WardenError, got ${String(error)}`).toBe(true);
  return error as WardenError;
}

describe("load-time limits", () => {
  it("not_found names the path", async () => {
    const e = await failure(loadPlugin("/nonexistent/plugin.wasm", { name: "ghost" }));
    expect(e.code).toBe("not_found");
    expect(e.details).toMatchObject({ plugin: "ghost", path: "/nonexistent/plugin.wasm" });
  });

  it("too_large: module over max_module_bytes", async () => {
    const bytes = await fixture("allow");
    const e = await failure(loadPlugin(bytes, { name: "big", limits: { max_module_bytes: 64 } }));
    expect(e.code).toBe("too_large");
    expect(e.details).toMatchObject({ limit: "max_module_bytes", size: bytes.length });
  });

  it("compile_error: garbage, and a component", async () => {
    const e = await failure(
      loadPlugin(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]), { name: "junk" }),
    );
    expect(e.code).toBe("compile_error");
    expect(e.message).toMatch(/invalid WebAssembly/);
    const c = await failure(
      loadPlugin(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), { name: "comp" }),
    );
    expect(c.code).toBe("compile_error");
    expect(c.message).toMatch(/component/);
  });

  it("link_error names module.field", async () => {
    const e = await failure(loadPlugin(await fixture("link-env"), { name: "thief" }));
    expect(e.code).toBe("link_error");
    expect(e.details).toMatchObject({ plugin: "thief", import: "env.steal_secrets" });
    expect(e.message).toContain("env.steal_secrets");
  });

  it("missing_export: no memory, wrong signature", async () => {
    const m = await failure(loadPlugin(await fixture("no-memory"), { name: "nomem" }));
    expect(m.code).toBe("missing_export");
    expect(m.details).toMatchObject({ export: "memory" });
    const s = await failure(loadPlugin(await fixture("wrong-signature"), { name: "sig" }));
    expect(s.code).toBe("missing_export");
    expect(s.details).toMatchObject({ export: "evaluate" });
    expect(s.message).toContain("(i32) -> (i32)");
  });

  it("a per-call function is checked the same way", async () => {
    const p = await loadPlugin(await fixture("wrong-signature"), {
      name: "sig2",
      function: "check",
    });
    expect((await p.evaluate({})).verdict).toBe(true);
    const e = await failure(p.evaluate({}, { function: "evaluate" }));
    expect(e.code).toBe("missing_export");
    const n = await failure(p.evaluate({}, { function: "nope" }));
    expect(n.code).toBe("missing_export");
    expect(n.details).toMatchObject({ export: "nope" });
  });

  it("memory_exceeded: declared initial memory over the limit is refused at load", async () => {
    const e = await failure(loadPlugin(await fixture("big-initial"), { name: "fat" }));
    expect(e.code).toBe("memory_exceeded");
    expect(e.details).toMatchObject({ limit: "memory_limit_bytes", initial_bytes: 320 * 65536 });
    // ... and loads when the limit allows it
    await loadPlugin(await fixture("big-initial"), {
      name: "fat",
      limits: { memory_limit_bytes: 21 * 1024 * 1024 },
    });
  });

  it("too_large: a declared table over table_elements", async () => {
    const e = await failure(loadPlugin(await fixture("big-table"), { name: "tables" }));
    expect(e.code).toBe("too_large");
    expect(e.details).toMatchObject({ limit: "table_elements", elements: 20000 });
  });

  it("init_failed: the start function traps; _initialize never returns", async () => {
    const s = await failure(loadPlugin(await fixture("start-trap"), { name: "start" }));
    expect(s.code).toBe("init_failed");
    expect(s.details).toMatchObject({ cause_code: "trap", kind: "unreachable" });
    const l = await failure(
      loadPlugin(await fixture("init-loop"), { name: "init", limits: { timeout_ms: 20 } }),
    );
    expect(l.code).toBe("init_failed");
    expect(l.details).toMatchObject({ cause_code: "timeout", limit: "timeout_ms" });
  });

  it("invalid_limit: out-of-range limits and bad names (exit 2)", async () => {
    const bytes = await fixture("allow");
    for (const limits of [
      { timeout_ms: 0 },
      { timeout_ms: 30_001 },
      { memory_limit_bytes: 512 * 1024 * 1024 },
      { fuel: -1 },
      { fuel: 1.5 },
      { bogus: 1 },
    ]) {
      const e = await failure(loadPlugin(bytes, { name: "x", limits: limits as never }));
      expect(e.code, JSON.stringify(limits)).toBe("invalid_limit");
      expect(e.category).toBe("config");
    }
    for (const name of ["", "a b", "x".repeat(129), "../etc"]) {
      const e = await failure(loadPlugin(bytes, { name }));
      expect(e.code, name).toBe("invalid_limit");
      expect(e.details).toMatchObject({ limit: "name" });
    }
  });
});

describe("evaluation limits", () => {
  it("timeout: a tight loop is stopped at its timeout", async () => {
    const p = await loadPlugin(await fixture("loop"), { name: "spin", limits: { timeout_ms: 30 } });
    const e = await failure(p.evaluate({}));
    expect(e.code).toBe("timeout");
    expect(e.category).toBe("plugin");
    expect(e.details).toMatchObject({ plugin: "spin", limit: "timeout_ms", timeout_ms: 30 });
    expect(e.details.elapsed_ms as number).toBeGreaterThanOrEqual(30);
  });

  it("timeout: a loop of whole-memory bulk fills is stopped too", async () => {
    const p = await loadPlugin(await fixture("fill-loop"), {
      name: "fill",
      limits: { timeout_ms: 30 },
    });
    expect((await failure(p.evaluate({}))).code).toBe("timeout");
  });

  it("timeout: catching the interrupt with exception handling does not help", async () => {
    const p = await loadPlugin(await fixture("catch-timeout"), {
      name: "catcher",
      limits: { timeout_ms: 20 },
    });
    expect((await failure(p.evaluate({}))).code).toBe("timeout");
  });

  it("fuel_exhausted is deterministic", async () => {
    const p = await loadPlugin(await fixture("loop"), {
      name: "fuel",
      limits: { fuel: 50_000, timeout_ms: 30_000 },
    });
    const e = await failure(p.evaluate({}));
    expect(e.code).toBe("fuel_exhausted");
    expect(e.details).toMatchObject({ limit: "fuel", fuel: 50_000 });
    const slow = await loadPlugin(await fixture("slow"), {
      name: "slowfuel",
      // The time limit stays out of the way: fuel, not the clock, must decide (a loaded CI box).
      limits: { fuel: 10_000_000, timeout_ms: 30_000 },
    });
    const a = await slow.evaluate({});
    const b = await slow.evaluate({});
    expect(a.fuel_used).toBeGreaterThan(3_000_000);
    expect(a.fuel_used).toBe(b.fuel_used);
    const tight = await loadPlugin(await fixture("slow"), {
      name: "slowfuel",
      limits: { fuel: (a.fuel_used as number) - 1, timeout_ms: 30_000 },
    });
    expect((await failure(tight.evaluate({}))).code).toBe("fuel_exhausted");
    const exact = await loadPlugin(await fixture("slow"), {
      name: "slowfuel",
      limits: { fuel: a.fuel_used as number, timeout_ms: 30_000 },
    });
    expect((await exact.evaluate({})).verdict).toBe(true);
  });

  it("memory_exceeded: a grow-and-write bomb stays within its limit", async () => {
    const limit = 4 * 1024 * 1024;
    const p = await loadPlugin(await fixture("grow-bomb"), {
      name: "bomb",
      limits: { memory_limit_bytes: limit, timeout_ms: 30_000 },
    });
    const e = await failure(p.evaluate({}));
    expect(e.code).toBe("memory_exceeded");
    expect(e.details).toMatchObject({ limit: "memory_limit_bytes", memory_used_bytes: limit });
  });

  it("table.grow past table_elements fails inside the guest", async () => {
    const p = await loadPlugin(await fixture("table-grow"), { name: "tgrow" });
    expect((await p.evaluate({})).verdict).toBe(true);
  });

  it("trap kinds: unreachable, out_of_bounds, divide_by_zero, stack_overflow, proc_exit", async () => {
    const p = await loadPlugin(await fixture("traps"), { name: "traps" });
    const kinds: Record<string, string> = {
      evaluate: "unreachable",
      oob: "out_of_bounds",
      div0: "divide_by_zero",
      recurse: "stack_overflow",
    };
    for (const [fn, kind] of Object.entries(kinds)) {
      const e = await failure(p.evaluate({}, { function: fn }));
      expect(e.code, fn).toBe("trap");
      expect(e.details, fn).toMatchObject({ plugin: "traps", kind });
    }
    const x = await loadPlugin(await fixture("proc-exit"), { name: "exit" });
    const e = await failure(x.evaluate({}));
    expect(e.code).toBe("trap");
    expect(e.details).toMatchObject({ kind: "proc_exit", exit_code: 3 });
  });

  it("invalid_output says what was wrong", async () => {
    const p = await loadPlugin(await fixture("outputs"), { name: "outs" });
    const cases: Record<string, RegExp> = {
      not_json: /not JSON/,
      verdict_string: /"verdict" is not a boolean/,
      extra_key: /unknown key "extra"/,
      array: /an array, not an object/,
      out_of_bounds: /outside its memory/,
    };
    for (const [fn, re] of Object.entries(cases)) {
      const e = await failure(p.evaluate({}, { function: fn }));
      expect(e.code, fn).toBe("invalid_output");
      expect(e.message, fn).toMatch(re);
      expect(e.details).toMatchObject({ export: fn });
    }
    const big = await failure(p.evaluate({}, { function: "huge" }));
    expect(big.code).toBe("too_large");
    expect(big.details).toMatchObject({ limit: "max_output_bytes", size: 2_000_000 });
    const ok = await p.evaluate({});
    expect(ok.metadata).toEqual({ score: 0.9, tags: ["a"] });
  });

  it("too_large input; invalid_input (exit 2)", async () => {
    const p = await loadPlugin(await fixture("scan"), {
      name: "scan",
      limits: { max_input_bytes: 100 },
    });
    const e = await failure(p.evaluate({ text: "x".repeat(200) }));
    expect(e.code).toBe("too_large");
    expect(e.details).toMatchObject({ limit: "max_input_bytes" });
    const bad = await failure(p.evaluate("{not json"));
    expect(bad.code).toBe("invalid_input");
    expect(bad.category).toBe("usage");
    expect((await failure(p.evaluate(undefined))).code).toBe("invalid_input");
  });

  it("a plugin keeps working after each kind of failure", async () => {
    const p = await loadPlugin(await fixture("traps"), { name: "again" });
    for (let i = 0; i < 3; i++) {
      await failure(p.evaluate({}, { function: "recurse" }));
      await failure(p.evaluate({}, { function: "oob" }));
    }
    const g = await loadPlugin(await fixture("grow-bomb"), {
      name: "bomb2",
      limits: { memory_limit_bytes: 1 << 20, timeout_ms: 30_000 },
    });
    for (let i = 0; i < 3; i++)
      expect((await failure(g.evaluate({}))).code).toBe("memory_exceeded");
  });
});
