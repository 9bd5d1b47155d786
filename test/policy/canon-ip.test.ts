/**
 * What IP address reading (src/policy/canon/ip.ts) does, pinned by what a client could do with
 * a change to it: every host below is allowed by `host: "*"` unless a deny rule catches it, so
 * a form the policy misreads is a bypass that shows as `allowed` (a test that only expects
 * "denied" would pass on the default deny). (Mutation testing: docs/policy.md.)
 */
import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  formatIpv6,
  intToIpv4,
  ipv4ToInt,
  type PolicyDecision,
  parseIpv6,
} from "../../src/policy/index.js";

function compiled(src: string) {
  const r = compilePolicy(src, { file: "ip.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const policy = compiled(`
network:
  allow:
    - host: "*"
  deny:
    - cidr: 127.0.0.0/8
    - cidr: 192.168.0.0/16
    - cidr: 9.9.9.9/32
    - cidr: "::1/128"
    - cidr: "fd00::/8"
    - cidr: "2001:db8::/32"
    - cidr: "0:0:0:0:0:ffff:0:0/96"
`);
const connect = (host: string): PolicyDecision =>
  policy.check({ kind: "network.connect", host }, { explain: true });
const denied = (host: string, rule: number) =>
  expect(connect(host), host).toMatchObject({
    allowed: false,
    code: "deny_rule",
    ruleId: `network.deny[${rule}]`,
  });
const canonical = (host: string) =>
  (connect(host).explanation?.input as { host?: string } | undefined)?.host;

describe("IPv4 as the policy reads it", () => {
  it("reads dotted quads at every octet boundary", () => {
    expect(ipv4ToInt("0.0.0.0")).toBe(0);
    expect(ipv4ToInt("1.2.3.4")).toBe(0x01020304);
    expect(ipv4ToInt("9.9.9.9")).toBe(0x09090909);
    expect(ipv4ToInt("10.0.0.1")).toBe(0x0a000001);
    expect(ipv4ToInt("100.200.250.255")).toBe(0x64c8faff);
    expect(ipv4ToInt("255.255.255.255")).toBe(0xffffffff);
    expect(intToIpv4(0xc0a80a01)).toBe("192.168.10.1");
    expect(intToIpv4(0xffffffff)).toBe("255.255.255.255");
    expect(intToIpv4(0)).toBe("0.0.0.0");
  });

  it.each([
    "01.2.3.4", // a leading zero: octal to the URL parser (1), never 1 read as decimal here
    "1.2.3.010",
    "00.1.1.1",
    "256.1.1.1",
    "1.2.3.1000",
    "1.2.3",
    "1.2.3.4.5",
    "1..2.3",
    ".1.2.3",
    "1.2.3.",
    "1.2.3.4.",
    "1.2.3./",
    "1.2.3.:",
    "1.2.3.a",
    " 1.2.3.4",
    "",
    "1.2.3.4444",
  ])("%j is not a canonical dotted quad", (s) => {
    expect(ipv4ToInt(s)).toBe(-1);
  });

  it("a leading zero is octal, as the URL parser (and so fetch) reads it: not a way around a CIDR rule", () => {
    denied("0177.0.0.1", 0); // 127.0.0.1
    denied("0300.0250.1.1", 1); // 192.168.1.1
    denied("011.9.9.9", 2); // 9.9.9.9
    expect(canonical("0177.0.0.1")).toBe("127.0.0.1");
    expect(canonical("011.9.9.9")).toBe("9.9.9.9");
    // Read as decimal, 011.9.9.9 would be 11.9.9.9: allowed. It is not that address.
    expect(connect("11.9.9.9").allowed).toBe(true);
  });

  it("CIDR rules cover their range and stop at its edge", () => {
    denied("127.0.0.1", 0);
    denied("127.255.255.255", 0);
    denied("192.168.0.0", 1);
    denied("192.168.255.255", 1);
    denied("9.9.9.9", 2);
    for (const h of ["128.0.0.1", "126.255.255.255", "192.169.0.1", "192.167.255.255", "9.9.9.8"])
      expect(connect(h).allowed, h).toBe(true);
  });

  it("refuses a CIDR rule whose address has a leading zero (the URL parser reads 010 as 8)", () => {
    const r = compilePolicy(`network:\n  allow:\n    - cidr: 010.0.0.0/8\n`, { file: "c.yaml" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ line: 3, key: "network.allow[0].cidr" });
  });
});

describe("IPv6 as the policy reads it", () => {
  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["1:2:3:4:5:6:7:8", [1, 2, 3, 4, 5, 6, 7, 8]],
    ["1:2:3:4:5:6:7::", [1, 2, 3, 4, 5, 6, 7, 0]],
    ["::2:3:4:5:6:7:8", [0, 2, 3, 4, 5, 6, 7, 8]],
    ["abcd::ABCD", [0xabcd, 0, 0, 0, 0, 0, 0, 0xabcd]],
    ["fFfF:0:0::1", [0xffff, 0, 0, 0, 0, 0, 0, 1]],
    ["::ffff:1.2.3.4", [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]],
    ["::ffff:192.168.10.200", [0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x0ac8]],
    ["::1.2.3.4", [0, 0, 0, 0, 0, 0, 0x0102, 0x0304]],
    ["::ffff:0.0.0.0", [0, 0, 0, 0, 0, 0xffff, 0, 0]],
    ["1:2:3:4:5:6:1.2.3.4", [1, 2, 3, 4, 5, 6, 0x0102, 0x0304]],
    ["1::6:1.2.3.4", [1, 0, 0, 0, 0, 6, 0x0102, 0x0304]],
  ] as const)("%s", (s, groups) => {
    expect(parseIpv6(s)).toEqual(groups);
  });

  it.each([
    "",
    ":",
    ":::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1::2::3",
    "12345::",
    "g::1",
    "::1 ",
    " ::1",
    "::1%eth0",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::ffff:01.2.3.4",
    "::ffff:256.1.1.1",
    "::ffff:1.2.3",
    "::1.2.3.4:1",
    "::ffff:1.2.3.4.",
    "1.2.3.4",
    "::1.2.3.4.5",
  ])("%j is not an IPv6 address", (s) => {
    expect(parseIpv6(s)).toBeUndefined();
  });

  it("writes addresses as RFC 5952 does: the first longest run of two or more zeros compressed", () => {
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe("::");
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 1])).toBe("::1");
    expect(formatIpv6([1, 0, 0, 0, 0, 0, 0, 0])).toBe("1::");
    expect(formatIpv6([1, 0, 2, 3, 4, 5, 6, 7])).toBe("1:0:2:3:4:5:6:7");
    expect(formatIpv6([1, 0, 2, 0, 0, 3, 0, 0])).toBe("1:0:2::3:0:0");
    expect(formatIpv6([1, 0, 0, 2, 0, 0, 0, 3])).toBe("1:0:0:2::3");
    expect(formatIpv6([0, 0, 1, 0, 0, 0, 2, 0])).toBe("0:0:1::2:0");
    expect(formatIpv6([0xabcd, 0xef, 1, 2, 3, 4, 5, 6])).toBe("abcd:ef:1:2:3:4:5:6");
    expect(canonical("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
  });

  it("every spelling of a denied address is denied", () => {
    for (const h of ["::1", "[::1]", "0:0:0:0:0:0:0:1", "[0::1]", "::0:1", "0000::0001"])
      denied(h, 3);
    denied("fd12:3456::1", 4);
    denied("FDFF:FFFF::", 4);
    denied("2001:DB8:0:0:1:0:0:1", 5);
    expect(connect("fc00::1").allowed).toBe(true);
    expect(connect("2001:db9::1").allowed).toBe(true);
    expect(connect("::2").allowed).toBe(true);
  });

  it("an IPv4-mapped address is judged as the IPv4 address it maps", () => {
    denied("::ffff:127.0.0.1", 0);
    denied("[::ffff:7f00:1]", 0);
    denied("::ffff:c0a8:101", 1);
    denied("0:0:0:0:0:FFFF:9.9.9.9", 2);
    expect(canonical("[::ffff:c0a8:101]")).toBe("192.168.1.1");
  });

  it("only ::ffff:0:0/96 maps to IPv4: addresses that merely end like one are other addresses", () => {
    // Each of these ends in 7f00:1 (127.0.0.1) but is an IPv6 address of its own; the IPv6
    // rule for the mapped range does not cover them either.
    for (const h of [
      "::1:ffff:7f00:1",
      "1::ffff:7f00:1",
      "0:1::ffff:7f00:1",
      "0:0:1::ffff:7f00:1",
      "0:0:0:1:0:ffff:7f00:1",
      "::fffe:7f00:1",
      "::7f00:1",
      "::127.0.0.1",
    ]) {
      const d = connect(h);
      expect(d.allowed, h).toBe(true);
      expect(canonical(h), h).not.toBe("127.0.0.1");
    }
  });
});
