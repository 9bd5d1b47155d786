import { describe, expect, it } from "vitest";
import { WardenError } from "../../src/core/errors.js";
import { GuardSet } from "../../src/guards/set.js";
import type { Guard, GuardDecision, GuardTool } from "../../src/guards/types.js";
import { specOf } from "./helpers.js";

type Fn = (payload: unknown) => GuardDecision;

/** A guard whose behaviour is a function of the payload; type "wasm" so decisions are validated. */
function g(id: string, fn: Fn, extra: Record<string, unknown> = {}, seen?: string[]) {
  const spec = specOf({
    id,
    type: "wasm",
    module_path: "x.wasm",
    runs_on: ["tools_list", "tool_invoke"],
    ...extra,
  });
  const guard: Guard = {
    id,
    type: "wasm",
    evaluate(_phase, payload) {
      seen?.push(id);
      return fn(payload);
    },
  };
  return { spec, guard };
}

const tools: GuardTool[] = [{ name: "a" }, { name: "b" }, { name: "c" }];
const ctx = { serverName: "s" };
const drop =
  (name: string): Fn =>
  (p) => ({ kind: "modify", payload: (p as GuardTool[]).filter((t) => t.name !== name) });

describe("guard composition", () => {
  it("runs in priority order (ties keep file order) and applies modifications in order", () => {
    const seen: string[] = [];
    const p = new GuardSet([
      g("late", drop("b"), { priority: 200 }, seen),
      g("first", drop("a"), { priority: 1 }, seen),
      g("tie1", () => ({ kind: "warn", messages: ["w1"] }), { priority: 100 }, seen),
      g("tie2", () => ({ kind: "allow" }), { priority: 100 }, seen),
    ]);
    const r = p.run("tools_list", tools, ctx);
    expect(seen).toEqual(["first", "tie1", "tie2", "late"]);
    expect(r.decision.kind).toBe("modify");
    expect((r.payload as GuardTool[]).map((t) => t.name)).toEqual(["c"]);
    expect(r.warnings).toEqual(["w1"]);
    expect(r.trail.map((t) => `${t.guard}:${t.outcome}`)).toEqual([
      "first:modify",
      "tie1:warn",
      "tie2:allow",
      "late:modify",
    ]);
  });

  it("a deny stops the chain and wins over everything before it", () => {
    const seen: string[] = [];
    const p = new GuardSet([
      g("mod", drop("a"), { priority: 1 }, seen),
      g("no", () => ({ kind: "deny", code: "nope", message: "no way" }), { priority: 2 }, seen),
      g("never", () => ({ kind: "allow" }), { priority: 3 }, seen),
    ]);
    const r = p.run("tools_list", tools, ctx);
    expect(seen).toEqual(["mod", "no"]);
    expect(r.decision).toMatchObject({ kind: "deny", code: "nope" });
    expect(r.by).toBe("no");
  });

  it("warnings alone give warn; nothing gives the shared allow", () => {
    const p = new GuardSet([g("w", () => ({ kind: "warn", messages: ["careful"] }))]);
    expect(p.run("tools_list", tools, ctx).decision).toEqual({
      kind: "warn",
      messages: ["careful"],
    });
    const q = new GuardSet([g("a", () => ({ kind: "allow" }))]);
    expect(q.run("tools_list", tools, ctx).decision.kind).toBe("allow");
    expect(q.has("response")).toBe(false);
    expect(
      q.run("response", { method: "m", name: "", result: {}, isError: false }, ctx).trail,
    ).toEqual([]);
  });

  it("fail_closed (the default) turns a failure into a deny that says so", () => {
    const p = new GuardSet([
      g("boom", () => {
        throw new WardenError("trap", 'plugin "boom": evaluate trapped (unreachable)');
      }),
      g("after", () => ({ kind: "allow" }), { priority: 200 }),
    ]);
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision).toMatchObject({
      kind: "deny",
      code: "guard_failed",
      details: { guard: "boom", failure: "trap", failure_mode: "fail_closed" },
    });
    expect(r.trail).toEqual([
      expect.objectContaining({
        guard: "boom",
        outcome: "failed",
        code: "trap",
        failureMode: "fail_closed",
      }),
    ]);
  });

  it("fail_open skips the failed guard with a warning and an audit note, and goes on", () => {
    const p = new GuardSet([
      g(
        "boom",
        () => {
          throw new WardenError("timeout", "ran past timeout_ms=5");
        },
        { failure_mode: "fail_open" },
      ),
      g("after", drop("c"), { priority: 200 }),
    ]);
    const r = p.run("tools_list", tools, ctx);
    expect(r.decision.kind).toBe("modify");
    expect(r.warnings[0]).toContain(
      'guard "boom" failed on tools_list (timeout: ran past timeout_ms=5); skipped because its failure_mode is fail_open',
    );
    expect(r.trail[0]).toMatchObject({
      outcome: "failed",
      code: "timeout",
      failureMode: "fail_open",
    });
  });

  it("a bad decision from a WebAssembly guard is a failure too", () => {
    const p = new GuardSet([
      g("bad", () => ({ kind: "deny", code: "Not Snake", message: "x" }) as GuardDecision),
    ]);
    expect(p.run("tools_list", tools, ctx).decision).toMatchObject({
      kind: "deny",
      code: "guard_failed",
      details: { failure: "invalid_output" },
    });
  });

  it("disabled guards and phases outside runs_on are skipped", () => {
    const seen: string[] = [];
    const p = new GuardSet([
      g("off", () => ({ kind: "allow" }), { enabled: false }, seen),
      g("on", () => ({ kind: "allow" }), { runs_on: ["tool_invoke"] }, seen),
    ]);
    p.run("tools_list", tools, ctx);
    expect(seen).toEqual([]);
    expect(p.guards.map((e) => e.spec.id)).toEqual(["on"]);
  });
});

describe("each guard is a core strategy", () => {
  it("a phase's guards are one core Chain, composed by priority, named by guard id", () => {
    const p = new GuardSet([
      g("late", () => ({ kind: "allow" }), { priority: 200 }),
      g("first", () => ({ kind: "allow" }), { priority: 1 }),
      g("only-invoke", () => ({ kind: "allow" }), { priority: 0, runs_on: ["tool_invoke"] }),
    ]);
    expect(p.chain("tools_list")!.strategies.map((s) => [s.name, s.priority])).toEqual([
      ["first", 1],
      ["late", 200],
    ]);
    expect(p.chain("tool_invoke")!.strategies.map((s) => s.name)).toEqual([
      "only-invoke",
      "first",
      "late",
    ]);
    expect(p.chain("response")).toBeNull();
    expect(p.chain("tools_list")!.async).toBe(false);
  });

  it("failure_mode wraps the guard's strategy: a throw becomes the chain's block (closed) or a warning (open)", () => {
    const boom = () => {
      throw new Error("kaboom");
    };
    const closed = new GuardSet([g("c", boom)]);
    const d = closed.chain("tools_list")!.before({
      source: "",
      target: "s",
      function: "tools_list",
      args: tools,
      phase: "before",
      meta: { phase: "tools_list", context: ctx, trail: [], warnings: [] },
    });
    expect(d).toMatchObject({
      verdict: "block",
      by: "c",
      rule: "security_guards.c",
      details: { code: "guard_failed", failure: "threw", failure_mode: "fail_closed" },
    });
    const open = new GuardSet([g("o", boom, { failure_mode: "fail_open" })]);
    const r = open.run("tools_list", tools, ctx);
    expect(r.decision).toEqual({
      kind: "warn",
      messages: [expect.stringContaining('guard "o" failed on tools_list (threw: kaboom)')],
    });
  });
});
