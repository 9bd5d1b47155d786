// The audit's bounds on recorded arguments: whatever the nesting or size, the recorded value is
// small, marked where it was cut, and serializable (so the line is always written).
import { describe, expect, it } from "vitest";
import { boundArguments } from "../../src/audit/bound.js";

const B = { maxDepth: 8, maxBytes: 8192 };

describe("boundArguments", () => {
  it("cuts 20,000 levels at the depth bound, without recursing through them", () => {
    const v = JSON.parse(`{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
    for (const mode of ["full", "redacted"] as const) {
      const r = boundArguments(v, mode, B);
      expect(r.truncated).toBe(true);
      expect(JSON.stringify(r.value)).toBe(`{"a":${"[".repeat(7)}"<…depth>"${"]".repeat(7)}}`);
    }
  });

  it("cuts a huge string, a long array and a wide object to the size bound, with markers", () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const r = boundArguments(
      { s: "y".repeat(5_000_000), list: Array(100_000).fill(0), wide },
      "full",
      B,
    );
    const text = JSON.stringify(r.value);
    expect(r.truncated).toBe(true);
    expect(text.length).toBeLessThan(B.maxBytes + 2000);
    expect(text).toMatch(/<…\d+ more chars>/);
  });

  it("keeps small arguments whole; redacts leaves to their types; keeps __proto__ as data", () => {
    const v = JSON.parse('{"path":"/a/b","n":3,"ok":true,"__proto__":{"x":1}}');
    expect(boundArguments(v, "full", B)).toEqual({ value: v, truncated: false });
    const red = boundArguments(v, "redacted", B).value as Record<string, unknown>;
    expect(JSON.stringify(red)).toBe(
      '{"path":"<string:4>","n":"<number>","ok":"<boolean>","__proto__":{"x":"<number>"}}',
    );
    expect(boundArguments(v, "omit", B)).toEqual({ value: undefined, truncated: false });
  });
});
