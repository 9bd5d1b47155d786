/**
 * What path canonicalization (src/policy/canon/path.ts) gives, pinned as absolute values (the
 * lanes test compares the fast lanes with the full lane; this pins the full lane itself): each
 * line is a spelling a client could use to reach a path a rule denies, or one that must keep
 * working. (Mutation testing: docs/policy.md.)
 */
import { describe, expect, it } from "vitest";
import {
  canonicalizePath,
  canonicalPathCodes,
  canonicalPathOf,
  normalizeSegments,
  PATH_CODES,
} from "../../src/policy/canon/path.js";
import { compilePolicy } from "../../src/policy/index.js";

const NOT_ABSOLUTE = (s: string) =>
  `"${s}" is not an absolute path or fs:// / file:/// URI (relative paths and other schemes are refused)`;
const CONTROL = "path contains a NUL or control character";
const INVISIBLE = "path contains a control or invisible character";
const ENCODED =
  "path percent-encodes a separator, dot, percent or control character (refused: it could name another path)";
const BAD_UTF8 = "path has invalid percent-encoding or invalid UTF-8";
const BACKSLASH =
  'path contains a backslash (refused: on POSIX it is part of a file name, so "a\\b/.." is the parent of "a\\b", while Windows and file: URLs read it as a separator)';

describe("the canonical form of a path", () => {
  it.each([
    ["/", "/"],
    ["/a/b", "/a/b"],
    ["/a/./b", "/a/b"],
    ["/a/../b", "/b"],
    ["/../a", "/a"],
    ["/a//b/", "/a/b"],
    ["/a/b/..", "/a"],
    ["/a/.../b", "/a/.../b"],
    ["/a/..b", "/a/..b"],
    ["/a/b../c", "/a/b../c"],
    ["/a/.b/", "/a/.b"],
    ["//", "/"],
    ["/.", "/"],
    ["/..", "/"],
    ["/a/b/../../..", "/"],
    ["/a/bb/../c", "/a/c"],
    ["fs:///a/b", "/a/b"],
    ["fs://a/b", "/a/b"],
    ["FS:///a", "/a"],
    ["Fs://a", "/a"],
    ["fS://a/../b", "/b"],
    ["fs://", "/"],
    ["fs:///", "/"],
    ["file:///a", "/a"],
    ["FILE:///a", "/a"],
    ["File:///a/./b", "/a/b"],
    ["file://localhost/a", "/a"],
    ["file://LOCALHOST/a", "/a"],
    ["FILE://Localhost/a/../b", "/b"],
    ["/a%41", "/aA"],
    ["/a%20b", "/a b"],
    ["/a%c3%a9", "/a\u00e9"],
    ["/a%C3%A9", "/a\u00e9"],
    ["/a%7e", "/a~"],
    ["/a%3A", "/a:"],
    ["/a%zz", "/a%zz"],
    ["/a%4", "/a%4"],
    ["/a%", "/a%"],
    ["/cafe\u0301", "/caf\u00e9"],
    ["/a b", "/a b"],
    ["/~a", "/~a"],
    ["/*", "/*"],
    ["/a\ue000", "/a\ue000"],
    [`/${"a/".repeat(130)}`, `/${"a/".repeat(129)}a`],
    [`/${"a/../".repeat(200)}b`, "/b"],
    [`/${"a/".repeat(300)}..`, `/${Array(299).fill("a").join("/")}`],
    ["/%41%7e/./%20x//", "/A~/ x"],
    ["fs://a%42/%43/../d", "/aB/d"],
    [`/${"x".repeat(5000)}/../y`, "/y"],
    // Not ASCII: the full lane reads them, from where the path starts.
    ["fs:///cafe\u0301/./x", "/caf\u00e9/x"],
    ["file://localhost/\u00e9", "/\u00e9"],
    ["FILE:///\u00c9/../\u00e8", "/\u00e8"],
    ["/\u00c9COLE/X", "/\u00c9COLE/X"], // case is kept on a case-sensitive target
    ["/\u00e9/b./c", "/\u00e9/b./c"],
    ["/\u00e9/.b/..c/c..", "/\u00e9/.b/..c/c.."],
  ])("%j is %j", (input, want) => {
    expect(canonicalizePath(input)).toEqual({ ok: true, value: want });
    expect(canonicalPathOf(input, false)).toBe(want);
  });

  it.each([
    ["/A/B", "/a/b"],
    ["/\u00c9COLE/X", "/\u00e9cole/x"],
    ["/A%42", "/ab"],
    ["/A/./B/../C", "/a/c"],
    ["fs:///Ab", "/ab"],
    ["/Ab", "/ab"],
  ])("on a case-insensitive target %j is %j", (input, want) => {
    expect(canonicalizePath(input, { caseInsensitive: true })).toEqual({ ok: true, value: want });
  });
});

describe("paths that are refused", () => {
  it.each([
    ["", "path is empty"],
    ["fs:/a", NOT_ABSOLUTE("fs:/a")],
    ["fs:", NOT_ABSOLUTE("fs:")],
    ["fs:a", NOT_ABSOLUTE("fs:a")],
    ["fx://a", NOT_ABSOLUTE("fx://a")],
    ["file://localhost", NOT_ABSOLUTE("file://localhost")],
    ["file://localhostx/a", NOT_ABSOLUTE("file://localhostx/a")],
    ["file://host/a", NOT_ABSOLUTE("file://host/a")],
    ["file:/a", NOT_ABSOLUTE("file:/a")],
    ["file:a", NOT_ABSOLUTE("file:a")],
    ["fsx//a", NOT_ABSOLUTE("fsx//a")],
    ["fs:x/a", NOT_ABSOLUTE("fs:x/a")],
    ["fs:/xa", NOT_ABSOLUTE("fs:/xa")],
    ["fs:ab/c", NOT_ABSOLUTE("fs:ab/c")],
    ["fx:///a", NOT_ABSOLUTE("fx:///a")],
    ["foo:bar/a", NOT_ABSOLUTE("foo:bar/a")],
    ["fxxxxxxlocalhost/a", NOT_ABSOLUTE("fxxxxxxlocalhost/a")],
    ["xfile:///a", NOT_ABSOLUTE("xfile:///a")],
    ["ffile:///a", NOT_ABSOLUTE("ffile:///a")],
    // Other schemes that share a letter or an ending with fs:// or file://.
    ["gs://data/x", NOT_ABSOLUTE("gs://data/x")],
    ["ws://a/b", NOT_ABSOLUTE("ws://a/b")],
    ["xile:///a", NOT_ABSOLUTE("xile:///a")],
    ["ffile://", NOT_ABSOLUTE("ffile://")],
    ["fffile://", NOT_ABSOLUTE("fffile://")],
    ["fsfile:///a", NOT_ABSOLUTE("fsfile:///a")],
    ["f", NOT_ABSOLUTE("f")],
    ["a/b", NOT_ABSOLUTE("a/b")],
    ["./a", NOT_ABSOLUTE("./a")],
    ["http://x/a", NOT_ABSOLUTE("http://x/a")],
    [`a${"b".repeat(100)}`, NOT_ABSOLUTE(`a${"b".repeat(79)}`)],
    ["x\u0000", CONTROL],
    ["x\u007f", CONTROL],
    ["/a\u0000", CONTROL],
    ["/a\u001f", CONTROL],
    ["/a\u007f", CONTROL],
    ["fs:///a\u0000", CONTROL],
    ["/a%00", ENCODED],
    ["/a%1f", ENCODED],
    ["/a%7f", ENCODED],
    ["/a%7F", ENCODED],
    ["/%2e%2e/etc", ENCODED],
    ["/a/%2E/b", ENCODED],
    ["/a%2fb", ENCODED],
    ["/a%2Fb", ENCODED],
    ["/a%5cb", ENCODED],
    ["/a%5Cb", ENCODED],
    ["/a%25", ENCODED],
    ["/a%252e", ENCODED],
    ["/a%c3", BAD_UTF8],
    ["/%41%zz", BAD_UTF8],
    ["/a%c0%ae", BAD_UTF8],
    ["/a\u0085", INVISIBLE],
    ["/a\u200b", INVISIBLE],
    ["/a\u202e", INVISIBLE],
    ["/a\ud800", INVISIBLE],
    ["/a\ufffe", INVISIBLE],
    ["/a\uffff", INVISIBLE],
    ["/a\u2028", INVISIBLE],
    ["/a\u2029", INVISIBLE],
    ["/a%e2%80%8b", INVISIBLE],
    ["/a\\b", BACKSLASH],
    ["/a\\", BACKSLASH],
    ["/a\u00e9\\..", BACKSLASH],
  ])("%j: %s", (input, reason) => {
    expect(canonicalizePath(input)).toEqual({ ok: false, reason });
    expect(canonicalPathOf(input, false)).toBeUndefined();
  });

  it("a path that is not a string", () => {
    expect(canonicalizePath(7)).toEqual({ ok: false, reason: "path must be a string" });
  });
});

describe("normalizeSegments", () => {
  it.each([
    ["", "/"],
    ["a", "/a"],
    ["//", "/"],
    ["/a/b/../../..", "/"],
    ["/a/../../b", "/b"],
    ["a/b", "/a/b"],
    ["/a/./", "/a"],
    ["/.../..", "/"],
    ["/a/bb/..", "/a"],
    ["/ab/c/..", "/ab"],
    ["/a/b./c", "/a/b./c"],
    ["/a/.b/c", "/a/.b/c"],
    ["/a/xy/c", "/a/xy/c"],
    ["/x/..c/d", "/x/..c/d"],
    ["/x/.bc/d", "/x/.bc/d"],
    ["/x/a./d", "/x/a./d"],
    ["/x/.a/d", "/x/.a/d"],
  ])("%j is %j", (input, want) => {
    expect(normalizeSegments(input)).toBe(want);
  });
});

describe("the code-unit form storage checks use", () => {
  // The route that answers printable ASCII paths (storage checks read its code units; every
  // other caller takes its string): what it takes is pinned exactly, since a route that
  // declined more would still give the right answers, only through the full lane.
  const codes = (s: string) => {
    const n = canonicalPathCodes(s);
    return n < 0 ? n : String.fromCharCode(...PATH_CODES.subarray(0, n));
  };

  it("is the canonical path, or says to use the input, or to ask canonicalPathOf", () => {
    expect(codes("/a/b")).toBe(-2);
    expect(codes("/")).toBe(-2);
    expect(codes("/a/./b/../c//")).toBe("/a/c");
    expect(codes("fs:///a/../../b")).toBe("/b");
    expect(codes("fs://a/b/")).toBe("/a/b");
    expect(codes("/..")).toBe("/");
    expect(codes("/a/.")).toBe("/a");
    expect(codes("/a/.b/..c/c../.../")).toBe("/a/.b/..c/c../...");
    expect(codes(`/${"a/".repeat(130)}`)).toBe(`/${"a/".repeat(129)}a`);
    for (const s of ["", "a/b", "/a\\b", "/a\u00e9/.", "/a\u0000/.", "/a\u001f/.", "/a\u007f/."])
      expect(codes(s), s).toBe(-1);
  });

  it("takes every printable ASCII character but `%` (an escape) and the backslash", () => {
    let all = "";
    for (let c = 0x20; c <= 0x7e; c++)
      if (c !== 0x25 && c !== 0x2f && c !== 0x5c) all += String.fromCharCode(c);
    expect(codes(`/${all}/.`)).toBe(`/${all}`);
    expect(codes("/ a~/./~ /")).toBe("/ a~/~ ");
  });

  it("decodes the escapes the full lane decodes to printable ASCII, and no others", () => {
    expect(codes("/%20%21%30%39%3a%3A%41%4a%4A%4f%4F%5b%5d%61%66%7e%7E/.")).toBe(
      "/ !09::AJJOO[]af~~",
    );
    expect(codes("fs://a%41/%42")).toBe("/aA/B");
    expect(codes("/a/%41/..")).toBe("/a");
    expect(codes("/.%41/..%41")).toBe("/.A/..A");
    for (const s of [
      "/a%",
      "/a%4",
      "/a%/",
      "/a%4/",
      "/a%zz",
      "/a%z1",
      "/a%4z",
      "/a%4g",
      "/a%4G",
      "/a%4:",
      "/a%4@",
      "/a%4`",
      "/a%g4",
      "/a%2e",
      "/a%2E",
      "/a/%2e%2e",
      "/a%2f",
      "/a%2F",
      "/a%25",
      "/a%5c",
      "/a%5C",
      "/a%00",
      "/a%1f",
      "/a%7f",
      "/a%80",
      "/a%c3%a9",
      "/a%41%",
    ]) {
      expect(codes(s), s).toBe(-1);
      expect(codes(`${s}/.`), s).toBe(-1);
    }
  });

  it("takes paths up to its buffer and its segment stack, from every scheme", () => {
    // A result at most one code unit longer than what follows the scheme fits in 4,096.
    expect(codes(`/${"x".repeat(4092)}/.`)).toBe(`/${"x".repeat(4092)}`);
    expect(codes(`/${"x".repeat(4093)}/.`)).toBe(-1);
    expect(codes(`fs:///${"x".repeat(4092)}/.`)).toBe(`/${"x".repeat(4092)}`);
    expect(codes(`fs:///${"x".repeat(4093)}/.`)).toBe(-1);
    expect(codes(`file://localhost/${"x".repeat(4092)}/.`)).toBe(`/${"x".repeat(4092)}`);
    // 256 segments kept at most (each `..` needs where its segment starts).
    expect(codes(`/${"a/".repeat(256)}../.`)).toBe(`/${Array(255).fill("a").join("/")}`);
    expect(codes(`/${"a/".repeat(257)}../.`)).toBe(-1);
  });
});

describe("storage rules hold against every spelling", () => {
  const r = compilePolicy(`
storage:
  allow:
    - uri: "fs:///srv/**"
      access: [read]
  deny:
    - uri: "fs:///srv/secret/**"
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const policy = r.policy;
  const read = (uri: string) => policy.check({ kind: "storage.read", uri });

  it.each([
    "/srv/secret/k",
    "/srv/./secret/k",
    "/srv/x/../secret/k",
    "/srv//secret/k",
    "fs://srv/secret/k",
    "FS:///srv/secret/k",
    "file:///srv/secret/k",
    "File://LocalHost/srv/secret/k",
    "/srv/%73ecret/k",
    "/srv/secre%74/k",
    "/srv/secret",
    "/srv/secret/",
  ])("%j is denied by the rule on /srv/secret", (uri) => {
    expect(read(uri)).toMatchObject({ allowed: false, code: "deny_rule" });
  });

  it("while the rest of /srv is allowed", () => {
    for (const uri of ["/srv/public/k", "/srv/secretary/k", "/srv/a/../public", "fs:///srv/x%20y"])
      expect(read(uri).allowed, uri).toBe(true);
  });
});
