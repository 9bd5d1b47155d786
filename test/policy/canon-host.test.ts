/**
 * What host canonicalization (src/policy/canon/host.ts) does, pinned: each host is read as the
 * WHATWG URL parser (and so `fetch`) reads it, or refused; a change that reads one differently
 * lets a client past a host rule (allowed by `host: "*"` here unless a deny rule catches it).
 * (Mutation testing: docs/policy.md.)
 */
import { describe, expect, it } from "vitest";
import { isCanonicalName } from "../../src/policy/canon/host.js";
import { canonicalizeHost, compilePolicy, type PolicyDecision } from "../../src/policy/index.js";

function compiled(src: string) {
  const r = compilePolicy(src, { file: "host.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const policy = compiled(`
network:
  allow:
    - host: "*"
  deny:
    - host: internal.example.com
    - host: "*.corp"
    - cidr: 127.0.0.0/8
    - cidr: "::1/128"
    - host: a_b
    - host: "*"
      ports: [8080]
`);
const connect = (host: string, port?: number): PolicyDecision =>
  policy.check(
    { kind: "network.connect", host, ...(port === undefined ? {} : { port }) },
    { explain: true },
  );
const ok = (host: string, value: object) =>
  expect(canonicalizeHost(host), host).toEqual({ ok: true, value });

describe("host names as the URL parser reads them", () => {
  it("a canonical name is itself", () => {
    ok("example.com", { host: "example.com", ipv4: -1, port: -1 });
    ok("a", { host: "a", ipv4: -1, port: -1 });
    ok("1-2", { host: "1-2", ipv4: -1, port: -1 });
    ok("a.0xg", { host: "a.0xg", ipv4: -1, port: -1 });
    ok("xn--bcher-kva.example", { host: "xn--bcher-kva.example", ipv4: -1, port: -1 });
  });

  it("other spellings of a name are brought to it, and a deny rule on the name holds", () => {
    for (const h of [
      "INTERNAL.example.com",
      "internal.example.com.",
      "internal\u3002example\u3002com", // ideographic full stops
      "ｉｎｔｅｒｎａｌ.example.com", // full-width letters
      "intern%61l.example.com", // an escape the parser decodes
    ]) {
      expect(canonicalizeHost(h), h).toMatchObject({
        ok: true,
        value: { host: "internal.example.com" },
      });
      expect(connect(h), h).toMatchObject({ allowed: false, ruleId: "network.deny[0]" });
    }
    ok("bücher.corp", { host: "xn--bcher-kva.corp", ipv4: -1, port: -1 });
    expect(connect("BÜCHER.corp")).toMatchObject({ allowed: false, ruleId: "network.deny[1]" });
    ok("a_b", { host: "a_b", ipv4: -1, port: -1 });
    expect(connect("A_B")).toMatchObject({ allowed: false, ruleId: "network.deny[4]" });
  });

  it("IPv4 in any form the parser takes is the dotted quad", () => {
    ok("127.0.0.1", { host: "127.0.0.1", ipv4: 0x7f000001, port: -1 });
    for (const h of ["0x7f.1", "2130706433", "0177.0.0.1", "127.1", "127.0.0.1.", "0x7F000001"]) {
      ok(h, { host: "127.0.0.1", ipv4: 0x7f000001, port: -1 });
      expect(connect(h), h).toMatchObject({ allowed: false, ruleId: "network.deny[2]" });
    }
  });

  it("IPv6, bare or bracketed, compressed; an IPv4-mapped address as its IPv4", () => {
    const loop = { host: "::1", ipv4: -1, ipv6: [0, 0, 0, 0, 0, 0, 0, 1], port: -1 };
    ok("::1", loop);
    ok("[::1]", loop);
    ok("[0:0:0:0:0:0:0:1]", loop);
    ok("[::1]:8443", { ...loop, port: 8443 });
    // Bare, with more than one colon, the whole text is the address: no port is split off.
    ok("::1:8080", { host: "::1:8080", ipv4: -1, ipv6: [0, 0, 0, 0, 0, 0, 1, 0x8080], port: -1 });
    ok("[::ffff:127.0.0.1]", { host: "127.0.0.1", ipv4: 0x7f000001, port: -1 });
    ok("[::ffff:7f00:1]:8443", { host: "127.0.0.1", ipv4: 0x7f000001, port: 8443 });
    ok("::FFFF:A00:1", { host: "10.0.0.1", ipv4: 0x0a000001, port: -1 });
    ok("[::ffff:0.0.0.0]", { host: "0.0.0.0", ipv4: 0, port: -1 });
    expect(connect("[::1]")).toMatchObject({ allowed: false, ruleId: "network.deny[3]" });
    expect(connect("[::ffff:7f00:1]")).toMatchObject({ allowed: false, ruleId: "network.deny[2]" });
  });

  it("a port written in the host is the port, the scheme default included", () => {
    ok("example.com:8080", { host: "example.com", ipv4: -1, port: 8080 });
    ok("example.com:80", { host: "example.com", ipv4: -1, port: 80 });
    ok("example.com:0080", { host: "example.com", ipv4: -1, port: 80 });
    ok("example.com:443", { host: "example.com", ipv4: -1, port: 443 });
    ok("[::1]:80", { host: "::1", ipv4: -1, ipv6: [0, 0, 0, 0, 0, 0, 0, 1], port: 80 });
    ok("EXAMPLE.com", { host: "example.com", ipv4: -1, port: -1 });
    // A port in the host is judged like the action's port.
    expect(connect("example.com:8080")).toMatchObject({
      allowed: false,
      ruleId: "network.deny[5]",
    });
    expect(connect("example.com", 8080)).toMatchObject({
      allowed: false,
      ruleId: "network.deny[5]",
    });
    expect(connect("example.com:8081").allowed).toBe(true);
    // The parser reads :0080 as the scheme's default port, 80: so does the policy (it read
    // no port at all, and an allow rule on port 80 did not allow it).
    const web = compiled(`network:\n  allow:\n    - host: web.example\n      ports: [80]\n`);
    for (const h of ["web.example:80", "web.example:0080", "WEB.example:080"])
      expect(web.check({ kind: "network.connect", host: h }).allowed, h).toBe(true);
    for (const h of ["web.example:8080", "web.example:", "web.example"])
      expect(web.check({ kind: "network.connect", host: h }).allowed, h).toBe(false);
  });

  it("names up to 1024 characters are read; longer ones refused", () => {
    const long = "a".repeat(1024);
    ok(long, { host: long, ipv4: -1, port: -1 });
    expect(canonicalizeHost(`${long}a`)).toEqual({ ok: false, reason: "host is too long" });
  });
});

describe("hosts that are refused", () => {
  const HIDES = "host contains whitespace, userinfo (@), a path or control characters";
  it.each([
    "internal.example.com\u0000",
    "internal.example.com\u001f",
    "internal.example.com\u007f",
    "intern\tal.example.com", // the URL parser would drop the tab
    "intern\nal.example.com",
    "internal.example.com\r",
    "internal.example.com ",
    " internal.example.com",
    "user@internal.example.com",
    "internal.example.com@evil.com",
    "internal.example.com/x",
    "internal.example.com\\x",
    "internal.example.com?x",
    "internal.example.com#x", // the parser would read internal.example.com and a fragment
  ])("%j", (h) => {
    expect(canonicalizeHost(h)).toEqual({ ok: false, reason: HIDES });
    expect(connect(h)).toMatchObject({ allowed: false, code: "not_canonical" });
  });

  it.each([
    ["", "host is empty"],
    ["a<b", '"a<b" is not a valid host name or IP address'],
    ["[::1", '"[::1" is not a valid host name or IP address'],
    ["a.1", '"a.1" is not a valid host name or IP address'],
    ["a%25b", '"a%25b" is not a valid host name or IP address'],
    ["1.2.3.256", '"1.2.3.256" is not a valid host name or IP address'],
    ["a..b", "host has empty labels"],
    [".", "host has empty labels"],
    ["example.com..", "host has empty labels"],
    ["..example.com", "host has empty labels"],
  ])("%j: %s", (h, reason) => {
    expect(canonicalizeHost(h)).toEqual({ ok: false, reason });
    expect(connect(h)).toMatchObject({ allowed: false, code: "not_canonical" });
  });

  it("a host that is not a string", () => {
    expect(canonicalizeHost(1)).toEqual({ ok: false, reason: "host must be a string" });
  });

  it("the message quotes at most 80 characters of the host", () => {
    const h = `${"a".repeat(100)}<`;
    expect(canonicalizeHost(h)).toEqual({
      ok: false,
      reason: `"${"a".repeat(80)}" is not a valid host name or IP address`,
    });
  });
});

describe("isCanonicalName: the fast path takes only what the URL parser leaves as it is", () => {
  it.each([
    ["example.com", true],
    ["a", true],
    ["a-b.c-d", true],
    ["-", true],
    ["1-2", true],
    ["9a", true],
    ["a.b9", true],
    ["z.0a", true],
    ["a.1z", true],
    ["a.1a", true],
    ["a.ax", true],
    ["a.bx9", true],
    ["a.0x", false],
    ["a".repeat(253), true],
    ["a".repeat(254), false],
    ["", false],
    ["A", false],
    ["a.B", false],
    ["a_b", false],
    ["a.", false],
    [".a", false],
    ["a..b", false],
    ["a.1", false],
    ["12", false],
    ["1.2.3.4", false],
    ["0x7f", false],
    ["a.0x1f", false],
    ["a.0xg", false],
    ["a`", false],
    ["a{", false],
    ["a/", false],
    ["a:", false],
    ["a b", false],
  ] as const)("%j: %s", (s, want) => {
    expect(isCanonicalName(s)).toBe(want);
    // What the fast path takes is what the full reading gives.
    if (want)
      expect(canonicalizeHost(s)).toEqual({ ok: true, value: { host: s, ipv4: -1, port: -1 } });
  });
});
