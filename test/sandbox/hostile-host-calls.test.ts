/**
 * Attacker tests: a plugin whose work is done by host calls rather than its own instructions.
 * The metering counts loop heads and calls; a function body that is one long straight line of
 * WASI calls (each reading 1,024 buffers, or filling memory with random bytes) used to cost a
 * few units in all, so neither fuel nor the timeout stopped it before it returned: with a 5 ms
 * timeout the event loop was held for seconds (minutes with a longer body, looped).
 */
import { describe, expect, it } from "vitest";
import { isWardenError, type WardenError } from "../../src/core/errors.js";
import { loadPlugin } from "../../src/sandbox/plugin.js";
import { watToWasm } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<WardenError> {
  try {
    await p;
  } catch (e) {
    if (isWardenError(e)) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

const FD_WRITE = "(drop (call $w (i32.const 1) (i32.const 0) (i32.const 1024) (i32.const 65000)))";
const RANDOM = "(drop (call $r (i32.const 0) (i32.const 65536)))";

/** `evaluate` runs one function whose body is `calls` copies of `line`, then answers `{"verdict":true}`. */
function straightLine(line: string, calls: number): Promise<Uint8Array> {
  return watToWasm(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 70000) "{\\"verdict\\":true}")
  (func $many ${line.repeat(calls)})
  (func (export "evaluate") (param i32 i32) (result i64)
    (call $many)
    (i64.const 0x0001117000000010)))`);
}

describe("sandbox: host calls are charged and checked", () => {
  it("a straight line of fd_write calls with 1,024 buffers each runs out of fuel", async () => {
    const bytes = await straightLine(FD_WRITE, 200);
    const p = await loadPlugin(bytes, {
      name: "writes",
      limits: { fuel: 50_000, timeout_ms: 30_000 },
    });
    const e = await failure(p.evaluate({}));
    expect(e.code).toBe("fuel_exhausted");
    // within its budget, the same plugin answers (and reports the host work it was charged)
    const q = await loadPlugin(await straightLine(FD_WRITE, 20), {
      name: "few-writes",
      limits: { fuel: 50_000, timeout_ms: 30_000 },
    });
    const r = await q.evaluate({});
    expect(r.fuel_used).toBeGreaterThan(20 * 1024);
  });

  it("a straight line of 64 KiB random_get calls runs out of fuel", async () => {
    const p = await loadPlugin(await straightLine(RANDOM, 200), {
      name: "random",
      limits: { fuel: 50_000, timeout_ms: 30_000 },
    });
    expect((await failure(p.evaluate({}))).code).toBe("fuel_exhausted");
  });

  it("a straight line of host calls stops at its timeout, not when the line ends", async () => {
    // 4,000 calls reading 1,024 buffers each: about a second of host work on this VM, where the
    // timeout is 5 ms (checked at every host call now, so the call is stopped near it)
    const p = await loadPlugin(await straightLine(FD_WRITE, 4000), {
      name: "slow-writes",
      limits: { timeout_ms: 5 },
    });
    const e = await failure(p.evaluate({}));
    expect(e.code).toBe("timeout");
    expect(e.details).toMatchObject({ plugin: "slow-writes", limit: "timeout_ms" });
  });
});
