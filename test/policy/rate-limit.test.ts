import { describe, expect, it } from "vitest";
import {
  type CompiledPolicy,
  compilePolicy,
  PolicyHolder,
  type PolicyState,
  RuleLimiter,
} from "../../src/policy/index.js";

const SRC = (limit: number, other = "") => `version: "1.0"
mcp:
  tools:
    allow:${other}
      - name: "calc/*"
        max_calls_per_minute: ${limit}
      - name: free
`;

function compile(src: string, state?: PolicyState): CompiledPolicy {
  const r = compilePolicy(src, state ? { state } : {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const call = (p: CompiledPolicy, now: number, name = "calc/add", caller?: string) =>
  p.check({ kind: "tool.call", name, ...(caller ? { caller } : {}) }, { now });

describe("max_calls_per_minute", () => {
  it("allows N calls in any 60 s window (sliding), per tool and per caller", () => {
    const p = compile(SRC(3));
    expect([0, 1, 2].map((t) => call(p, t, "calc/add", "a").allowed)).toEqual([true, true, true]);
    const d = call(p, 3, "calc/add", "a");
    expect(d).toMatchObject({ allowed: false, code: "rate_limited", ruleId: "mcp.tools.allow[0]" });
    expect(d.reason).toContain('"a"');
    expect(call(p, 4, "calc/add", "b").allowed).toBe(true); // another caller
    expect(call(p, 5, "calc/mul", "a").allowed).toBe(true); // another tool
    expect(call(p, 59_999, "calc/add", "a").allowed).toBe(false); // the call at 0 is still in the window
    expect(call(p, 60_000, "calc/add", "a").allowed).toBe(true); // it left
    expect(call(p, 60_000, "calc/add", "a").allowed).toBe(false);
    expect(call(p, 60_002, "calc/add", "a").allowed).toBe(true);
  });

  it("does not count denied calls, nor list visibility", () => {
    const p = compile(SRC(1));
    for (let i = 0; i < 5; i++)
      expect(p.check({ kind: "tool.list", name: "calc/add" }, { now: 0 }).allowed).toBe(true);
    expect(call(p, 0).allowed).toBe(true);
    for (let i = 1; i < 50; i++) expect(call(p, i).allowed).toBe(false);
    expect(call(p, 60_000).allowed).toBe(true);
  });

  it("keeps counters across a swap when the rule is unchanged (even if it moved)", () => {
    const old = compile(SRC(2));
    const holder = new PolicyHolder(old);
    expect(call(holder.current, 0).allowed).toBe(true);
    expect(call(holder.current, 1).allowed).toBe(true);
    const moved = compile(SRC(2, `\n      - name: added_rule`), holder.current.state);
    const previous = holder.swap(moved);
    expect(previous).toBe(old);
    expect(holder.current).toBe(moved);
    expect(call(holder.current, 2).allowed).toBe(false); // same rule content: still used up
  });

  it("starts afresh when the rule changed", () => {
    const old = compile(SRC(2));
    call(old, 0);
    call(old, 1);
    const holder = new PolicyHolder(old);
    const changed = compile(SRC(5), old.state);
    holder.swap(changed);
    expect(call(holder.current, 2).allowed).toBe(true);
    expect(old.state.size).toBe(1); // the old rule's state was dropped on swap
  });

  it("a new policy without the state starts with empty counters", () => {
    const a = compile(SRC(1));
    call(a, 0);
    expect(call(a, 1).allowed).toBe(false);
    expect(call(compile(SRC(1)), 1).allowed).toBe(true);
  });

  it("holder notifies swaps and checks against the current policy", () => {
    const holder = new PolicyHolder(compile(SRC(1)));
    const seen: string[] = [];
    const off = holder.onSwap((n, p) =>
      seen.push(`${p.revision.slice(0, 4)}->${n.revision.slice(0, 4)}`),
    );
    expect(holder.check({ kind: "tool.call", name: "free" }).allowed).toBe(true);
    holder.swap(compile(`version: "1.0"\n`));
    expect(holder.check({ kind: "tool.call", name: "free" }).allowed).toBe(false);
    off();
    holder.swap(compile(SRC(1)));
    expect(seen).toHaveLength(1);
  });
});

describe("RuleLimiter window table", () => {
  it("evicts idle windows first and, when every window is live, denies new callers (fail closed)", () => {
    const l = new RuleLimiter(2, 3);
    expect(["a", "b", "c"].map((c) => l.take("t", c, 0))).toEqual([true, true, true]);
    expect(l.take("t", "d", 1000)).toBe(false); // table full, all live: a new caller is denied
    expect(l.take("t", "a", 30_000)).toBe(true); // known callers go on
    expect(l.take("t", "d", 61_000)).toBe(true); // b and c went idle: evicted, d gets a window
    expect(l.remaining("t", "d", 61_000)).toBe(1);
    expect(l.remaining("t", "a", 61_000)).toBe(1); // a's call at 30 000 is still in its window
  });
});
