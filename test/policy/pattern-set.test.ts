/** The indexed lookups must answer exactly like a naive scan of every rule. */
import { describe, expect, it } from "vitest";
import { literalPrefix, literalSuffix } from "../../src/core/glob.js";
import { isCanonicalName } from "../../src/policy/canon/host.js";
import {
  compileNameGlob,
  compilePathGlob,
  compilePolicy,
  PatternSet,
} from "../../src/policy/index.js";
import { CidrSet, parseCidr } from "../../src/policy/match/cidr.js";
import { scanHost } from "../../src/policy/match/host-scan.js";
import {
  FOLDED_HASHES,
  NAME_HASHES,
  scanName,
  scannedHadUpper,
} from "../../src/policy/match/named.js";
import { addNamePattern, addPathPattern } from "../../src/policy/match/names.js";
import { LengthPlan, lengthPlan } from "../../src/policy/match/pattern-set.js";
import type { Rule } from "../../src/policy/rule.js";

function rng(seed: number) {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

const ALPHA = ["a", "b", "c", "_", "/", ".", "ab", "ba"];

describe("PatternSet agrees with a naive scan", () => {
  it.each([false, true])("fromEnd=%s, 2000 random names against 300 random patterns", (fromEnd) => {
    const r = rng(fromEnd ? 7 : 3);
    const pick = () => ALPHA[Math.floor(r() * ALPHA.length)]!;
    const word = (n: number) => Array.from({ length: n }, pick).join("");
    const patterns: string[] = [];
    for (let i = 0; i < 300; i++) {
      const shape = Math.floor(r() * 5);
      const w = word(1 + Math.floor(r() * 6));
      const v = word(Math.floor(r() * 3));
      patterns.push([w, `${w}*`, `*${w}`, `${w}*${v}`, `${w}?${v}*`][shape]!);
    }
    const set = new PatternSet<{ index: number }>(fromEnd);
    const tests = patterns.map((p) => compileNameGlob(p));
    patterns.forEach((p, index) => {
      const rule = { index };
      if (!/[*?]/.test(p)) set.addExact(p, rule);
      else set.addGlob(fromEnd ? literalSuffix(p) : literalPrefix(p), tests[index]!, rule);
    });
    set.build();
    for (let i = 0; i < 2000; i++) {
      const s = word(Math.floor(r() * 9));
      const naive = tests.findIndex((t) => t(s));
      expect(set.first(s)?.index ?? -1, `"${s}"`).toBe(naive);
      expect(set.all(s).map((x) => x.index)).toEqual(tests.flatMap((t, k) => (t(s) ? [k] : [])));
    }
  });

  // No glob starting with a wildcard: the first-two-characters filter is on (it is off when
  // some affix is empty). Few, short patterns so that most inputs miss it; one-character
  // affixes, one-character and empty inputs included.
  it.each([1, 2, 3, 4])("prefix filter, seed %i: 3000 names against 12 patterns", (seed) => {
    const r = rng(seed * 11);
    const pick = () => ALPHA[Math.floor(r() * ALPHA.length)]!;
    const word = (n: number) => Array.from({ length: n }, pick).join("");
    const patterns: string[] = [];
    for (let i = 0; i < 12; i++) {
      const w = word(1 + Math.floor(r() * 2)).slice(0, 1 + Math.floor(r() * 3));
      const v = word(Math.floor(r() * 2));
      patterns.push([w, `${w}*`, `${w}*${v}`, `${w}?${v}*`][Math.floor(r() * 4)]!);
    }
    const set = new PatternSet<{ index: number }>();
    const tests = patterns.map((p) => compileNameGlob(p));
    patterns.forEach((p, index) => {
      const rule = { index };
      if (!/[*?]/.test(p)) set.addExact(p, rule);
      else set.addGlob(literalPrefix(p), tests[index]!, rule);
    });
    set.build();
    const plan = new LengthPlan(set.lengths);
    const hashes = new Int32Array(12);
    const codes = new Uint16Array(16);
    for (let i = 0; i < 3000; i++) {
      const s = word(Math.floor(r() * 5));
      const naive = tests.findIndex((t) => t(s));
      expect(set.first(s)?.index ?? -1, `"${s}"`).toBe(naive);
      const count = plan.hashPrefixes(s, hashes);
      expect(set.probe(s, hashes, count)?.index ?? -1, `probe "${s}"`).toBe(naive);
      for (let j = 0; j < s.length; j++) codes[j] = s.charCodeAt(j);
      const viaCodes = set.probeCodes(codes, s.length, hashes, count);
      if (viaCodes !== null) expect(viaCodes?.index ?? -1, `probeCodes "${s}"`).toBe(naive);
    }
  });
});

describe("globs", () => {
  it.each([
    ["calc/*", "calc/add", true],
    ["calc/*", "calc", false],
    ["*.example.com", "a.b.example.com", true],
    ["*.example.com", "example.com", false],
    ["a*b*c", "axxbyyc", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["{x,y}_tool", "y_tool", true],
    ["[!a]z", "bz", true],
    ["[!a]z", "az", false],
    ["a.b", "aXb", false],
  ])("name glob %s on %s → %s", (p, s, want) => {
    expect(compileNameGlob(p)(s)).toBe(want);
  });

  it.each([
    ["/data/**", "/data", true],
    ["/data/**", "/data/a/b/.hidden", true],
    ["/data/**", "/database", false],
    ["/data/*.json", "/data/a.json", true],
    ["/data/*.json", "/data/x/a.json", false],
    ["/data/*.json", "/data/.a.json", true],
    ["/a/**/b", "/a/x/y/b", true],
  ])("path glob %s on %s → %s", (p, s, want) => {
    expect(compilePathGlob(p)(s)).toBe(want);
  });
});

describe("CidrSet", () => {
  it("matches by bit prefix, IPv4 and IPv6, lowest index first", () => {
    const set = new CidrSet<{ index: number }>();
    set.add(parseCidr("10.0.0.0/8"), { index: 1 });
    set.add(parseCidr("10.1.0.0/16"), { index: 0 });
    set.add(parseCidr("0.0.0.0/0"), { index: 5 });
    set.add(parseCidr("fd00::/8"), { index: 2 });
    set.build();
    const ip = (a: number, b: number, c: number, d: number) =>
      ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    expect(set.first4(ip(10, 1, 2, 3))?.index).toBe(0);
    expect(set.first4(ip(10, 2, 2, 3))?.index).toBe(1);
    expect(set.first4(ip(11, 2, 2, 3))?.index).toBe(5);
    expect(set.first6([0xfd12, 0, 0, 0, 0, 0, 0, 1])?.index).toBe(2);
    expect(set.first6([0xfe80, 0, 0, 0, 0, 0, 0, 1])).toBeUndefined();
    expect(() => parseCidr("10.0.0.1/8")).toThrow(/host bits/);
  });
});

describe("literal shapes and the one-pass name scan agree with the compiled tests", () => {
  it.each([false, true])(
    "fromEnd=%s: prefix*, *suffix, /dir/** and scanName + probe",
    (fromEnd) => {
      const r = rng(fromEnd ? 11 : 13);
      const pick = () => ALPHA[Math.floor(r() * ALPHA.length)]!;
      const word = (n: number) => Array.from({ length: n }, pick).join("");
      const patterns: string[] = [];
      for (let i = 0; i < 200; i++) {
        const w = word(1 + Math.floor(r() * 5));
        patterns.push([w, `${w}*`, `*${w}`, `${w}*${word(1)}`, `${w.toUpperCase()}*`][i % 5]!);
      }
      const allow = new PatternSet<Rule>(fromEnd);
      const deny = new PatternSet<Rule>(fromEnd);
      patterns.forEach((p, index) => {
        addNamePattern(index % 3 === 0 ? deny : allow, p, { index } as Rule, {
          fromEnd,
          fold: index % 3 === 0,
        });
      });
      const plan = lengthPlan(allow, deny);
      allow.build(plan);
      deny.build(plan);
      const tests = patterns.map((p) => compileNameGlob(p));
      for (let i = 0; i < 2000; i++) {
        const s = word(Math.floor(r() * 9)) + (i % 7 === 0 ? "X" : "");
        const naiveAllow = tests.findIndex((t, k) => k % 3 !== 0 && t(s));
        expect(allow.first(s)?.index ?? -1, `"${s}"`).toBe(naiveAllow);
        const folded = s.toLowerCase();
        const naiveDeny = tests.findIndex(
          (_t, k) => k % 3 === 0 && compileNameGlob(patterns[k]!.toLowerCase())(folded),
        );
        expect(deny.first(folded)?.index ?? -1, `"${s}"`).toBe(naiveDeny);
        if (!fromEnd) {
          const count = scanName(s, new LengthPlan(plan));
          if (count < 0) continue;
          const h = scannedHadUpper() ? NAME_HASHES : FOLDED_HASHES;
          expect(allow.probe(s, h, count)?.index ?? -1, `probe "${s}"`).toBe(naiveAllow);
          expect(deny.probe(folded, FOLDED_HASHES, count)?.index ?? -1).toBe(naiveDeny);
        }
      }
    },
  );

  it("/dir/** is the dir itself and below, never a sibling with the same prefix", () => {
    const set = new PatternSet<Rule>();
    addPathPattern(set, "/data/**", { index: 0 } as Rule, false);
    addPathPattern(set, "/data/x/*.csv", { index: 1 } as Rule, false);
    set.build();
    expect(set.first("/data")?.index).toBe(0);
    expect(set.first("/data/a/b")?.index).toBe(0);
    expect(set.first("/database")).toBeUndefined();
    expect(set.first("/dat")).toBeUndefined();
  });
});

describe("scanHost", () => {
  it("accepts exactly the hosts isCanonicalName accepts, and hashes like hashSuffixes", () => {
    const r = rng(5);
    const chars = ["a", "x", "0", "1", "f", "-", ".", "A", "_"];
    const plan = new LengthPlan([0, 2, 5, 9]);
    const want = new Int32Array(12);
    const got = new Int32Array(12);
    for (let i = 0; i < 20_000; i++) {
      const s = Array.from({ length: Math.floor(r() * 12) }, () => chars[Math.floor(r() * 9)]).join(
        "",
      );
      const k = scanHost(s, plan, got);
      expect(k >= 0, `"${s}"`).toBe(isCanonicalName(s));
      if (k < 0) continue;
      expect(k).toBe(plan.hashSuffixes(s, want));
      expect([...got.slice(0, k)]).toEqual([...want.slice(0, k)]);
    }
  });
});

describe("name checks skip hashing only when no pattern can match", () => {
  // Names and patterns over letters of both cases so the deny fold and the pair filter meet.
  const LETTERS = ["a", "B", "b", "A", "_", "x"];
  it.each([1, 2, 3])("seed %i: 1500 names against a tools section", (seed) => {
    const r = rng(seed * 31);
    const pick = () => LETTERS[Math.floor(r() * LETTERS.length)]!;
    const word = (n: number) => Array.from({ length: n }, pick).join("");
    const allow: string[] = [];
    const deny: string[] = [];
    for (let i = 0; i < 8; i++) {
      const w = word(1 + Math.floor(r() * 3));
      const p = [w, `${w}*`, `${w}?*`][Math.floor(r() * 3)]!;
      (r() < 0.4 ? deny : allow).push(p);
    }
    const yaml = [
      `version: "1.0"`,
      "mcp:",
      "  tools:",
      "    allow:",
      ...(allow.length ? allow.map((p) => `      - name: "${p}"`) : ["      []"]),
      "    deny:",
      ...(deny.length ? deny.map((p) => `      - name: "${p}"`) : ["      []"]),
    ].join("\n");
    const compiled = compilePolicy(yaml);
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const allowT = allow.map((p) => compileNameGlob(p));
    const denyT = deny.map((p) => compileNameGlob(p.toLowerCase()));
    for (let i = 0; i < 1500; i++) {
      const s = word(1 + Math.floor(r() * 4));
      const expected = denyT.some((t) => t(s.toLowerCase())) ? false : allowT.some((t) => t(s));
      expect(compiled.policy.check({ kind: "tool.call", name: s }).allowed, `"${s}" ${yaml}`).toBe(
        expected,
      );
    }
  });
});
