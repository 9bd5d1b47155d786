/**
 * The path canonicalizer's plain lane and code-unit route (one pass, offsets, no RegExp) must
 * give exactly what the full lane (decode, checks, NFC, segment resolution) gives, or fall back to it: compared on
 * hand-picked tricky inputs and on generated ones built from the pieces attackers combine.
 */
import { describe, expect, it } from "vitest";
import {
  canonicalizePath,
  canonicalPathCodes,
  fullLane,
  PATH_CODES,
} from "../../src/policy/canon/path.js";

const PREFIXES = ["", "fs://", "fs:///", "file://", "file://localhost", "FS://", "File:///"];
const PIECES = [
  "/",
  "//",
  "\\",
  "/./",
  "/../",
  ".",
  "..",
  "...",
  "a",
  "B",
  "data",
  "%41",
  "%2e",
  "%2E",
  "%2f",
  "%5c",
  "%25",
  "%252e",
  "%7e",
  "%7E",
  "%zz",
  "%4",
  "%",
  "%00",
  "%7f",
  "%c3%a9",
  "é",
  "\u200b",
  "\u0000",
  " ",
  "~",
  ".hidden",
  "a.b",
  "*",
  "{x,y}",
  "[ab]",
  "%20",
  "%3A",
];

function reference(uri: string, ci: boolean) {
  const r = canonicalizePath(uri, { caseInsensitive: ci });
  const from = uri.startsWith("/")
    ? 0
    : /^fs:\/\//i.test(uri)
      ? 5
      : /^file:\/\/\//i.test(uri)
        ? 7
        : /^file:\/\/localhost\//i.test(uri)
          ? 16
          : -1;
  return { got: r, want: from < 0 ? undefined : fullLane(uri, from, ci) };
}

function agree(uri: string, ci: boolean): void {
  const { got, want } = reference(uri, ci);
  if (want === undefined) {
    expect(got.ok, uri).toBe(false);
    return;
  }
  expect(got.ok, JSON.stringify(uri)).toBe(want.ok);
  if (got.ok && want.ok) expect(got.value, JSON.stringify(uri)).toBe(want.value);
  if (!ci) codesAgree(uri, got.ok ? got.value : undefined);
}

let codesUsed = 0;
/** The code-unit route (storage checks, no string built) gives the same path or declines. */
function codesAgree(uri: string, value: string | undefined): void {
  const n = canonicalPathCodes(uri);
  if (n === -1) return;
  if (n === -2) {
    expect(value, JSON.stringify(uri)).toBe(uri);
    return;
  }
  codesUsed++;
  expect(String.fromCharCode(...PATH_CODES.subarray(0, n)), JSON.stringify(uri)).toBe(value);
}

describe("path canonicalization lanes agree", () => {
  it("on hand-picked inputs", () => {
    const cases = [
      "/",
      "//",
      "/.",
      "/..",
      "/../..",
      "/a/",
      "/a//b",
      "/a/./b",
      "/a/../b",
      "/a/b/../../..",
      "fs:///data/reports/./2024//q1.csv",
      "fs://data/x",
      "fs://",
      "fs:///",
      "file:///a/../b",
      "file://localhost/a",
      "/a\\b",
      "/a\\..\\b",
      "\\a",
      "/a%41b",
      "/a/%2e%2e/b",
      "/a%2fb",
      "/a/b%",
      "/a/b%4",
      "/a%zz",
      "/a%zz%41",
      "/a/%41/..",
      "/.%41",
      "/..%41/x",
      "/a/...",
      "/a/.hidden/./x/",
      "/Srv/App/Secrets",
      "/a%20b/ c",
      "/x/%7e/y",
      `/${"a/".repeat(300)}`,
      `/${"../".repeat(200)}etc`,
      "/data/secret/../secret/key",
      "/%20%21%30%39%3a%3A%41%4a%4A%4f%4F%5b%5d%61%66%7e%7E/.",
      "/a%4g/.",
      "/a%4:/.",
      "/a%z1/.",
      "/a%4z/.",
      "/a%41%",
      "/a%80/.",
      `/${"a/".repeat(300)}..`,
      "/a/b/c/../../../../etc/passwd",
    ];
    for (const c of cases) for (const ci of [false, true]) agree(c, ci);
  });

  it("on 20,000 generated inputs", () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let fast = 0;
    for (let t = 0; t < 20000; t++) {
      let s = PREFIXES[rand(PREFIXES.length)]!;
      const parts = 1 + rand(8);
      for (let k = 0; k < parts; k++) s += PIECES[rand(PIECES.length)]!;
      agree(s, rand(4) === 0);
      if (canonicalizePath(s).ok) fast++;
    }
    expect(fast).toBeGreaterThan(1000); // the generator reaches accepted inputs too
    expect(codesUsed).toBeGreaterThan(1000); // and the code-unit route
  });

  it("returns the input itself when it is already canonical", () => {
    const p = "/data/reports/2024/q1.csv";
    const r = canonicalizePath(p);
    expect(r.ok && r.value).toBe(p);
    expect(canonicalizePath("fs:///data/reports/./2024//q1.csv")).toEqual({ ok: true, value: p });
  });
});
