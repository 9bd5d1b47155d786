/**
 * A real WebAssembly component, transpiled by jco (`--instantiation async`) at test time, runs
 * its core modules through prepareModule + budget.instantiateCore under one budget.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { componentEmbed, componentNew, transpile } from "@bytecodealliance/jco";
import { describe, expect, it } from "vitest";
import { isWardenError, type WardenError } from "../../src/core/errors.js";
import { createBudget, runWithBudget } from "../../src/sandbox/core-api.js";
import { prepareModule } from "../../src/sandbox/prepare.js";
import { BUILD, watToWasm } from "./helpers.js";

const WIT = "package test:guard; world guard { export check: func(n: u32) -> u32; }";
const CORE = `(module
  (memory (export "memory") 1)
  (func (export "check") (param $n i32) (result i32)
    (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $i)))`;

type Guard = { check(n: number): number };
type Instantiate = (
  getCoreModule: (path: string) => Promise<WebAssembly.Module>,
  imports: Record<string, unknown>,
  instantiateCore: (m: WebAssembly.Module, i: WebAssembly.Imports) => Promise<WebAssembly.Instance>,
) => Promise<Guard>;

async function buildComponent(): Promise<{
  instantiate: Instantiate;
  files: Record<string, Uint8Array>;
}> {
  const embedded = await componentEmbed({ binary: await watToWasm(CORE), witSource: WIT });
  const component = await componentNew(embedded);
  const { files } = await transpile(component, {
    name: "guard",
    instantiation: "async",
    noTypescript: true,
  });
  const dir = join(BUILD, "jco");
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const mod = (await import(pathToFileURL(join(dir, "guard.js")).href)) as {
    instantiate: Instantiate;
  };
  return { instantiate: mod.instantiate, files };
}

describe("jco-transpiled component under a budget", () => {
  it("runs, counts fuel, and is stopped at its timeout and its fuel", async () => {
    const { instantiate, files } = await buildComponent();
    const limits = { timeout_ms: 30, fuel: 50_000_000 };
    const budget = createBudget(limits, "component-guard");
    const getCoreModule = async (path: string) =>
      (await prepareModule(files[path]!, { name: "component-guard", limits })).module;
    const guard = await runWithBudget(budget, () =>
      instantiate(getCoreModule, {}, budget.instantiateCore),
    );
    expect(runWithBudget(budget, () => guard.check(1000))).toBe(1000);
    expect(budget.fuelUsed).toBeGreaterThanOrEqual(1000);

    let error: unknown;
    try {
      runWithBudget(budget, () => guard.check(4_000_000_000));
    } catch (e) {
      error = e;
    }
    expect(isWardenError(error)).toBe(true);
    expect(["timeout", "fuel_exhausted"]).toContain((error as WardenError).code);

    const small = createBudget({ fuel: 10_000 }, "component-guard");
    const g2 = await runWithBudget(small, () =>
      instantiate(getCoreModule, {}, small.instantiateCore),
    );
    expect(() => runWithBudget(small, () => g2.check(1_000_000))).toThrow(/fuel=10000/);
    // the component still works after being stopped
    expect(runWithBudget(small, () => g2.check(10))).toBe(10);
  });

  it("refuses a core module that was not prepared", async () => {
    const { instantiate, files } = await buildComponent();
    const budget = createBudget({}, "raw");
    const raw = async (path: string) => WebAssembly.compile(files[path]!);
    const e = await runWithBudget(budget, () => instantiate(raw, {}, budget.instantiateCore)).catch(
      (x) => x,
    );
    expect(e.code).toBe("link_error");
  });
});
