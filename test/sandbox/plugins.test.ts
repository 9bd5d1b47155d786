/** Well-behaved plugins: verdicts, WASI, modern features, isolation, a real AssemblyScript plugin. */
import { describe, expect, it } from "vitest";
import { loadPlugin } from "../../src/sandbox/plugin.js";
import { assemblyScriptGuard, fixture } from "./helpers.js";

const CALL = {
  tool: "fs.read",
  arguments: { path: "/srv/data/report.csv", limit: 100 },
  user: { id: "u-1", roles: ["analyst"] },
};

describe("well-behaved plugins", () => {
  it("returns verdict, message, metadata, duration and memory", async () => {
    const p = await loadPlugin(await fixture("scan"), { name: "scan" });
    const ok = await p.evaluate(CALL);
    expect(ok).toMatchObject({ verdict: true, memory_used_bytes: 2 * 65536 });
    expect(ok.duration_us).toBeGreaterThan(0);
    expect(ok.message).toBeUndefined();
    const no = await p.evaluate({ ...CALL, tool: "fs.delete" });
    expect(no).toMatchObject({ verdict: false, message: "delete is not allowed" });
    expect(p.evaluateSync(JSON.stringify(CALL)).verdict).toBe(true);
    expect(p.evaluateSync(new TextEncoder().encode('{"op":"delete"}')).verdict).toBe(false);
  });

  it("a slow but legitimate plugin finishes within its limits", async () => {
    const p = await loadPlugin(await fixture("slow"), {
      name: "slow",
      limits: { timeout_ms: 5_000 },
    });
    for (let i = 0; i < 3; i++) expect((await p.evaluate(CALL)).verdict).toBe(true);
  });

  it("modern WebAssembly (SIMD, bulk memory, multi-value, reference types, ...) runs under limits", async () => {
    const fresh = await loadPlugin(await fixture("modern"), {
      name: "modern",
      limits: { fuel: 10_000 },
    });
    for (let i = 0; i < 3; i++) {
      const r = await fresh.evaluate(CALL);
      expect(r.verdict).toBe(true);
      expect(r.fuel_used).toBeGreaterThan(0);
      expect(r.fuel_used).toBeLessThanOrEqual(10_000);
    }
  });

  it("WASI: clocks and random work, stdout is captured, the rest is denied with errno", async () => {
    const p = await loadPlugin(await fixture("wasi"), { name: "wasi" });
    const r = await p.evaluate(CALL);
    expect(r.verdict).toBe(true);
    expect(r.log).toBe("hello from wasi\n");
    // the log is per evaluation
    expect((await p.evaluate(CALL)).log).toBe("hello from wasi\n");
  });
});

describe("instances", () => {
  it("fresh by default: neither globals nor memory leak between evaluations", async () => {
    const p = await loadPlugin(await fixture("state"), { name: "state" });
    expect(p.prepared.resettable).toBe(true);
    for (let i = 0; i < 5; i++) expect((await p.evaluate(CALL)).verdict).toBe(true);
  });

  it("stateful opt-in keeps state between evaluations", async () => {
    const p = await loadPlugin(await fixture("state"), { name: "state", stateful: true });
    expect((await p.evaluate(CALL)).verdict).toBe(true);
    expect((await p.evaluate(CALL)).verdict).toBe(false);
    expect((await p.evaluate(CALL)).verdict).toBe(false);
  });

  it("the input of one evaluation is gone before the next (fresh), not when stateful", async () => {
    const fresh = await loadPlugin(await fixture("peek"), { name: "peek" });
    const long = { secret: "token-".repeat(40) };
    expect((await fresh.evaluate(long)).verdict).toBe(true);
    expect((await fresh.evaluate({})).verdict).toBe(true);
    const pooled = await loadPlugin(await fixture("peek"), { name: "peek", stateful: true });
    expect((await pooled.evaluate(long)).verdict).toBe(true);
    expect((await pooled.evaluate({})).verdict).toBe(false);
  });

  it("modules that grow memory are re-instantiated, so fresh still means fresh", async () => {
    const p = await loadPlugin(await fixture("scan"), { name: "scan" });
    // an input larger than the reserved page makes the host grow memory
    const big = { text: "x".repeat(100_000) };
    expect((await p.evaluate(big)).memory_used_bytes).toBeGreaterThan(2 * 65536);
    expect((await p.evaluate(CALL)).memory_used_bytes).toBe(2 * 65536);
  });
});

describe("AssemblyScript plugin compiled at test time", () => {
  it("parses JSON for real, uses allocate, and judges", async () => {
    const p = await loadPlugin(await assemblyScriptGuard(), { name: "as-guard" });
    expect(p.prepared.exports.map((e) => e.name)).toContain("allocate");
    const ok = await p.evaluate(CALL);
    expect(ok).toMatchObject({ verdict: true, metadata: { tool: "fs.read", depth: 3 } });
    const shell = await p.evaluate({ tool: "shell.exec", arguments: { cmd: "ls" } });
    expect(shell).toMatchObject({ verdict: false, message: "tool shell.exec is blocked" });
    // an escaped path is still found: the parser unescapes \u0061
    const sneaky = await p.evaluate('{"tool":"fs.read","arguments":{"path":"/etc/sh\\u0061dow"}}');
    expect(sneaky).toMatchObject({ verdict: false, message: "mentions /etc/shadow" });
    // bytes are handed over as is: the plugin's own parser rejects invalid JSON
    const bad = await p.evaluate(new TextEncoder().encode('{"tool": [1, 2,, 3]}'));
    expect(bad.verdict).toBe(false);
    expect(bad.message).toMatch(/^invalid JSON at byte 15/);
    // the first test compiles the AssemblyScript source (asc): 48 s were seen on a loaded CI box
  }, 120_000);

  it("runs many evaluations from a clean image", async () => {
    const p = await loadPlugin(await assemblyScriptGuard(), { name: "as-guard" });
    const first = await p.evaluate(CALL);
    for (let i = 0; i < 200; i++) await p.evaluate(CALL);
    const last = await p.evaluate(CALL);
    expect(last.memory_used_bytes).toBe(first.memory_used_bytes);
    expect(last.metadata).toEqual(first.metadata);
  });
});

describe("a hostile plugin does not stop the host", () => {
  it("other evaluations and timers keep completing while loops are stopped", async () => {
    const spin = await loadPlugin(await fixture("loop"), {
      name: "spin",
      limits: { timeout_ms: 25 },
    });
    const good = await loadPlugin(await fixture("scan"), { name: "good" });
    let timerFired = 0;
    const timer = setInterval(() => timerFired++, 1);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, async (_, i) => {
        await new Promise((r) => setImmediate(r));
        return i % 3 === 0 ? spin.evaluate(CALL) : good.evaluate(CALL);
      }),
    );
    // give the timer a turn after the last hostile evaluation
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(timer);
    outcomes.forEach((o, i) => {
      if (i % 3 === 0) {
        expect(o.status).toBe("rejected");
        expect((o as PromiseRejectedResult).reason.code).toBe("timeout");
      } else {
        expect(o.status).toBe("fulfilled");
        expect((o as PromiseFulfilledResult<{ verdict: boolean }>).value.verdict).toBe(true);
      }
    });
    expect(timerFired).toBeGreaterThan(0);
  });
});
