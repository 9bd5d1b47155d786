// CheckOptions.limits: the seam for rate limits kept elsewhere (state.redis). The policy takes
// nothing from its in-memory windows, names the deciding rule's limiter, and with that limiter
// exhausted goes on to the next allow rule, as in-memory windows do.
import { describe, expect, it } from "vitest";
import { compilePolicy, type DeferredLimits } from "../../src/policy/index.js";

const SRC = `version: "1.0"
mcp:
  tools:
    allow:
      - name: add
        max_calls_per_minute: 1
      - name: add
        callers: ["user:admin"]
      - name: mul
        max_calls_per_minute: 2
`;

describe("CheckOptions.limits (rate limits taken by the host)", () => {
  const r = compilePolicy(SRC);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const p = r.policy;

  it("allows subject to the deciding rule's limiter and takes nothing in memory", () => {
    for (let i = 0; i < 5; i++) {
      const limits: DeferredLimits = { pending: undefined, exhausted: new Set() };
      const d = p.check({ kind: "tool.call", name: "mul", caller: "bob" }, { limits });
      expect(d.allowed).toBe(true);
      expect(limits.pending).toMatchObject({ tool: "mul", caller: "bob" });
      expect(limits.pending?.limiter.perMinute).toBe(2);
      expect(limits.pending?.limiter.key).toMatch(/^mcp\.tools\./);
    }
    // the in-memory window was never taken from
    expect(p.check({ kind: "tool.call", name: "mul", caller: "bob" }).allowed).toBe(true);
  });

  it("an exhausted limiter is rate_limited, and the next allow rule may still allow", () => {
    const ask = (caller: string) => {
      const limits: DeferredLimits = { pending: undefined, exhausted: new Set() };
      p.check({ kind: "tool.call", name: "add", caller }, { limits });
      const first = limits.pending!.limiter;
      limits.exhausted.add(first);
      limits.pending = undefined;
      return { d: p.check({ kind: "tool.call", name: "add", caller }, { limits }), limits };
    };
    const bob = ask("bob");
    expect(bob.d).toMatchObject({ allowed: false, code: "rate_limited" });
    const admin = ask("admin");
    expect(admin.d).toMatchObject({ allowed: true, code: "allow_rule" });
    expect(admin.limits.pending).toBeUndefined();
  });
});
