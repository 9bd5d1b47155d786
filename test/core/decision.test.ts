import { describe, expect, it } from "vitest";
import {
  ALLOW,
  combine,
  decide,
  deny,
  isAllowed,
  isBlocked,
  parseVerdict,
  rank,
  stricter,
  VERDICTS,
} from "../../src/core/decision.js";

describe("decision lattice", () => {
  it("orders block > review > warn > display > suppress > allow", () => {
    const order = ["allow", "suppress", "display", "warn", "review", "block"] as const;
    expect(VERDICTS).toEqual(order);
    for (let i = 1; i < order.length; i++)
      expect(rank(order[i]!)).toBeGreaterThan(rank(order[i - 1]!));
  });

  it("combining keeps the strictest, whatever the order", () => {
    const warn = decide("warn", "looks odd", "a");
    const block = deny("no", "b", "rule-7");
    const display = decide("display", "show", "c");
    expect(combine([warn, block, display])).toBe(block);
    expect(combine([display, warn])).toBe(warn);
    expect(combine([block, warn])).toBe(block);
    expect(combine([])).toBe(ALLOW);
  });

  it("on a tie the first decision stays (it decided first)", () => {
    const a = decide("warn", "first", "a");
    const b = decide("warn", "second", "b");
    expect(stricter(a, b)).toBe(a);
    expect(stricter(b, a)).toBe(b);
  });

  it("review is not allowed on its own; warn, display and suppress are", () => {
    expect(isAllowed(decide("warn", "x", "s"))).toBe(true);
    expect(isAllowed(decide("display", "x", "s"))).toBe(true);
    expect(isAllowed(decide("suppress", "x", "s"))).toBe(true);
    expect(isAllowed(decide("review", "x", "s"))).toBe(false);
    expect(isAllowed(deny("x", "s"))).toBe(false);
    expect(isBlocked(deny("x", "s"))).toBe(true);
  });

  it("every decision carries its reason, strategy and rule, and is frozen", () => {
    const d = deny("deletes are not allowed", "firewall", "deny#1");
    expect(d).toMatchObject({
      verdict: "block",
      reason: "deletes are not allowed",
      by: "firewall",
      rule: "deny#1",
    });
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(ALLOW)).toBe(true);
  });

  it("accepts deny as an alias of block and rejects unknown verdicts", () => {
    expect(parseVerdict("deny")).toBe("block");
    expect(parseVerdict("warn")).toBe("warn");
    expect(parseVerdict("maybe")).toBeUndefined();
  });
});
