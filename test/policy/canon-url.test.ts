/**
 * What URL and resource URI canonicalization (src/policy/canon/url.ts) gives, pinned as
 * absolute values: a URL is judged by the host `fetch` would reach, a resource URI as the SDK's
 * servers look it up (`new URL`). (Mutation testing: docs/policy.md.)
 */
import { describe, expect, it } from "vitest";
import { canonicalizeResourceUri, canonicalizeUrl } from "../../src/policy/canon/url.js";
import { compilePolicy } from "../../src/policy/index.js";

const host = (h: string, port: number) => ({ host: h, ipv4: -1, port });

describe("request URLs", () => {
  it.each([
    [
      "https://Example.COM/a/../b?q=1#f",
      "https",
      "example.com",
      443,
      "https://example.com/b?q=1#f",
    ],
    ["http://example.com", "http", "example.com", 80, "http://example.com/"],
    ["http://example.com:80/", "http", "example.com", 80, "http://example.com/"],
    ["http://example.com:8080/", "http", "example.com", 8080, "http://example.com:8080/"],
    ["https://example.com:443/", "https", "example.com", 443, "https://example.com/"],
    ["ws://a/", "ws", "a", 80, "ws://a/"],
    ["wss://a:444/", "wss", "a", 444, "wss://a:444/"],
    ["HTTPS://A./", "https", "a", 443, "https://a./"],
    // Userinfo and a backslash: judged by the host the request really goes to.
    ["https://a.com@evil.com/", "https", "evil.com", 443, "https://a.com@evil.com/"],
    ["https://evil.com\\@x/", "https", "evil.com", 443, "https://evil.com/@x/"],
  ])("%j", (input, scheme, h, port, href) => {
    expect(canonicalizeUrl(input)).toEqual({
      ok: true,
      value: { scheme, host: host(h, port), port, href },
    });
  });

  it("an IP host, in any form, as its address", () => {
    expect(canonicalizeUrl("http://0x7f.1/")).toMatchObject({
      ok: true,
      value: { host: { host: "127.0.0.1", ipv4: 0x7f000001, port: 80 }, port: 80 },
    });
    expect(canonicalizeUrl("https://[::ffff:7f00:1]/")).toMatchObject({
      ok: true,
      value: { host: { host: "127.0.0.1", ipv4: 0x7f000001, port: 443 } },
    });
    expect(canonicalizeUrl("https://[::1]:8443/x")).toMatchObject({
      ok: true,
      value: { host: { host: "::1", ipv6: [0, 0, 0, 0, 0, 0, 0, 1], port: 8443 }, port: 8443 },
    });
  });

  it.each([
    [5, "url must be a string"],
    ["ftp://a/", 'scheme "ftp" is not one of http, https, ws, wss'],
    ["file:///etc", 'scheme "file" is not one of http, https, ws, wss'],
    ["https://a\u0000b/", "url contains control characters"],
    ["https://a/\u001f", "url contains control characters"],
    ["https://a/\u007f", "url contains control characters"],
    ["https://ex\tample.com/", "url contains control characters"], // the parser would drop the tab
    ["not a url", '"not a url" is not a valid absolute URL'],
    [`${"x".repeat(100)}`, `"${"x".repeat(80)}" is not a valid absolute URL`],
    ["https://a..b/", "host has empty labels"],
  ])("%j: %s", (input, reason) => {
    expect(canonicalizeUrl(input)).toEqual({ ok: false, reason });
  });
});

describe("resource URIs", () => {
  it.each([
    ["notes://private/../diary", "notes", "//private/diary"],
    ["notes://Private/./x", "notes", "//private/x"],
    ["NOTES://HOST/a/b/", "notes", "//host/a/b"],
    ["notes://h", "notes", "//h"],
    ["notes://h/", "notes", "//h"],
    ["notes://h//", "notes", "//h"],
    ["notes://h//a/", "notes", "//h/a"],
    ["notes://h/.", "notes", "//h"],
    ["mem:/", "mem", "/"],
    ["mem:a/b/", "mem", "a/b"],
    ["notes://h/a?x=1#y", "notes", "//h/a?x=1#y"],
    ["notes://h/a/..?x#y", "notes", "//h?x#y"],
    ["notes://h:99/x", "notes", "//h:99/x"],
    ["notes://h/%2e%2e/x", "notes", "//h/x"],
    ["notes://h/a%41", "notes", "//h/aA"],
    ["notes://h/a b", "notes", "//h/a b"],
    ["notes://h%41/x", "notes", "//ha/x"],
    ["notes://H%C3%89/x", "notes", "//h\u00e9/x"],
    ["notes://he\u0301/x", "notes", "//h\u00e9/x"], // escapes decoded, then NFC
    ["weird://[::1]/x", "weird", "//[::1]/x"],
    ["mem:a/b", "mem", "a/b"],
    ["mem:a", "mem", "a"],
    ["mem:a/..b", "mem", "a/..b"],
    ["mem:a?q#f", "mem", "a?q#f"],
    ["mem:/a/../b", "mem", "/b"],
    ["mem:/a/./b/", "mem", "/a/b"],
    ["a+b.c-d:x", "a+b.c-d", "x"],
    ["file:///etc/../x", "file", "/x"],
    ["FILE:///a", "file", "/a"],
    ["file://localhost/a/./b", "file", "/a/b"],
    ["fs+file:///a/../b", "fs+file", "/b"], // a gateway's prefixed file: URI is a path too
    ["FS+FILE:///a", "fs+file", "/a"],
  ])("%j", (input, scheme, rest) => {
    expect(canonicalizeResourceUri(input)).toEqual({ ok: true, value: { scheme, rest } });
  });

  const OPAQUE_DOTS = (s: string) => `"${s}" has a "." or ".." segment in an opaque path (refused)`;
  it.each([
    [7, "uri must be a string"],
    ["1abc:x", '"1abc:x" is not a URI (scheme:...)'],
    ["a", '"a" is not a URI (scheme:...)'],
    [":x", '":x" is not a URI (scheme:...)'],
    ["a_b:x", '"a_b:x" is not a URI (scheme:...)'],
    ["notes://u:p@h/a", "uri has user info (user@host), refused: rules name hosts, not users"],
    ["notes://u@h/a", "uri has user info (user@host), refused: rules name hosts, not users"],
    ["notes://:p@h/a", "uri has user info (user@host), refused: rules name hosts, not users"],
    ["mem:a/../b", OPAQUE_DOTS("mem:a/../b")],
    ["mem:a/./b", OPAQUE_DOTS("mem:a/./b")],
    ["mem:..", OPAQUE_DOTS("mem:..")],
    ["mem:.", OPAQUE_DOTS("mem:.")],
    ["mem:a/..", OPAQUE_DOTS("mem:a/..")],
    ["mem:./a", OPAQUE_DOTS("mem:./a")],
    ["mem:a/../", OPAQUE_DOTS("mem:a/../")],
    ["mem:./", OPAQUE_DOTS("mem:./")],
    [`mem:a/../${"b".repeat(100)}`, OPAQUE_DOTS(`mem:a/../${"b".repeat(71)}`)],
    [`1${"a".repeat(100)}:x`, `"1${"a".repeat(79)}" is not a URI (scheme:...)`],
    [`notes://h\\x/${"a".repeat(100)}`, `"notes://h\\x/${"a".repeat(68)}" is not a valid URI`],
    ["notes://h%2e/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%2F/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%5c/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%25/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%00/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%7f/x", "uri host percent-encodes a separator, dot, percent or control character"],
    ["notes://h%zz/x", "uri host has invalid percent-encoding or invalid UTF-8"],
    ["notes://h%c3/x", "uri host has invalid percent-encoding or invalid UTF-8"],
    ["notes://%e2%80%8bh/x", "uri host contains a control or invisible character"],
    ["notes://h%c2%85/x", "uri host contains a control or invisible character"],
    ["notes://h\\x/a", '"notes://h\\x/a" is not a valid URI'],
    ["notes://h/a\u0000", "uri contains a control character"],
    ["notes://h/\u007f", "uri contains a control character"],
    ["x:\u0001", "uri contains a control character"],
    ["a:b\nc", "uri contains a control character"],
    ["mem:a\u0000", "uri contains a control character"],
  ])("%j: %s", (input, reason) => {
    expect(canonicalizeResourceUri(input)).toEqual({ ok: false, reason });
  });

  it("file+x: is not a file: URI", () => {
    expect(canonicalizeResourceUri("file+x:///a/../b")).toEqual({
      ok: true,
      value: { scheme: "file+x", rest: "///b" },
    });
  });

  it("a path the path canonicalizer refuses is refused, with its reason", () => {
    for (const u of ["notes://h/a\\b", "mem:/a\\b", "file:///a\\b", "file://host/a"]) {
      const r = canonicalizeResourceUri(u);
      expect(r.ok, u).toBe(false);
    }
    expect(canonicalizeResourceUri("notes://h/a%e2%80%8b")).toEqual({
      ok: false,
      reason: "path contains a control or invisible character",
    });
    expect(canonicalizeResourceUri("mem:a%e2%80%8b")).toEqual({
      ok: false,
      reason: "path contains a control or invisible character",
    });
  });
});

describe("resource rules hold against every spelling", () => {
  const r = compilePolicy(`
mcp:
  resources:
    allow: ["notes://**", "mem:**"]
    deny: ["notes://private/**", "mem:secret/**"]
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const policy = r.policy;
  const read = (uri: string) => policy.check({ kind: "resource.read", uri });

  it.each([
    "notes://private/diary",
    "notes://PRIVATE/diary",
    "NOTES://private/diary",
    "notes://private/../private/diary",
    "notes://private/../diary", // `..` stays inside the path: it never eats the authority
    "notes://private/./diary",
    "notes://priv%61te/diary",
    "mem:secret/x",
    "MEM:secret/x",
  ])("%j is denied", (uri) => {
    expect(read(uri)).toMatchObject({ allowed: false, code: "deny_rule" });
  });

  it.each(["notes://public/x", "notes://privatex/y", "mem:public/x", "mem:secretx"])(
    "%j is allowed",
    (uri) => {
      expect(read(uri).allowed, uri).toBe(true);
    },
  );
});
