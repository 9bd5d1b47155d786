/**
 * Attacker tests against wasi:http/outgoing-handler through Warden's host: the URL tricks a
 * component can try in the authority (userinfo, IPv6 and zone ids, decimal/octal/hex IPv4,
 * trailing dots, IDNA), and DNS answers for an allowed name that lead to a cloud metadata
 * service in another form (IPv6 forms embedding 169.254.169.254, AWS's IPv6 IMDS address,
 * Alibaba Cloud's). The name is allowed by `*.example.com`; each request must be refused before
 * it leaves. The resolver is the host's `lookup` option, as a hostile DNS server would answer.
 */
import { describe, expect, it } from "vitest";
import type { WasiHostOptions } from "../../../src/hosted/wasi/host.js";
import { hostWith, wasiError } from "./helpers.js";

type Types = Record<
  string,
  new (
    ...a: unknown[]
  ) => Record<string, (...a: unknown[]) => unknown>
> & {
  Fields: { new (): unknown };
};

function setup(extra: Partial<WasiHostOptions> = {}) {
  return hostWith({
    component: "weather",
    policy: {
      source: ['version: "1.0"', "network:", "  allow:", '    - host: "*.example.com"', ""].join(
        "\n",
      ),
      file: "net.yaml",
    },
    ...extra,
  });
}

/** An outgoing request to `authority` (undefined: set-authority refused it). */
function request(host: ReturnType<typeof hostWith>["host"], authority: string) {
  const t = host.imports["wasi:http/types"] as unknown as Types;
  const req = new t.OutgoingRequest!(new t.Fields());
  req.setScheme!({ tag: "HTTP" });
  req.setPathWithQuery!("/latest/meta-data/");
  try {
    req.setAuthority!(authority);
  } catch {
    return undefined;
  }
  const handle = host.imports["wasi:http/outgoing-handler"]!.handle as (r: unknown) => unknown;
  return () => handle(req);
}

const DENIED = { tag: "HTTP-request-denied" };

describe("wasi:http: authority tricks", () => {
  it("userinfo, IPv6 literals, zone ids, IDNA and extra colons never make a request", () => {
    const { host } = setup();
    for (const a of [
      "api.example.com@169.254.169.254",
      "169.254.169.254:80@api.example.com",
      "[::ffff:a9fe:a9fe]",
      "[fe80::a9fe:a9fe%25eth0]:80",
      "ｍｅｔａｄａｔａ.example.com",
      "xn--metadata.example.com:80:80",
      "api.example.com:8o",
    ])
      expect(request(host, a), a).toBeUndefined();
  });

  it("169.254.169.254 written in decimal, octal, hex, short forms or with a trailing dot is judged as itself", () => {
    const { host, events } = setup({ lookup: () => ["93.184.216.34"] });
    for (const a of [
      "2852039166",
      "0251.0376.0251.0376",
      "0xa9.0xfe.0xa9.0xfe",
      "0xa9fea9fe",
      "169.254.43518",
      "169.16689662",
      "169.254.169.254.",
      "0251.254.169.254:80",
    ]) {
      const go = request(host, a);
      expect(go, a).toBeDefined();
      expect(wasiError(go!), a).toEqual(DENIED);
    }
    expect(events.filter((e) => e.decision === "deny").length).toBeGreaterThanOrEqual(8);
  });

  it("a trailing dot on an allowed name does not skip the judgement of its addresses", () => {
    const lookup = (n: string) =>
      n.replace(/\.$/, "") === "metadata.example.com" ? ["169.254.169.254"] : [];
    const { host } = setup({ lookup });
    expect(wasiError(request(host, "metadata.example.com.")!)).toEqual(DENIED);
    expect(wasiError(request(host, "METADATA.Example.COM")!)).toEqual(DENIED);
  });
});

describe("wasi:http: an allowed name whose DNS answer is a metadata service in another form", () => {
  for (const [answer, what] of [
    ["169.254.169.254", "link-local IPv4"],
    ["::ffff:169.254.169.254", "IPv4-mapped IPv6"],
    ["::ffff:0:a9fe:a9fe", "IPv4-translated IPv6 (SIIT)"],
    ["::a9fe:a9fe", "IPv4-compatible IPv6"],
    ["64:ff9b::a9fe:a9fe", "NAT64 (64:ff9b::/96)"],
    ["2002:a9fe:a9fe::1", "6to4 (2002::/16)"],
    ["fd00:ec2::254", "AWS instance metadata over IPv6"],
    ["100.100.100.200", "Alibaba Cloud metadata"],
    ["fe80::a9fe:a9fe", "IPv6 link-local"],
    ["64:ff9b::7f00:1", "loopback through NAT64"],
  ] as const)
    it(`${answer} (${what}) is refused`, () => {
      const { host, events } = setup({ lookup: () => [answer] });
      expect(wasiError(request(host, "metadata.example.com")!)).toEqual(DENIED);
      expect(events.at(-1)!.reason).toContain("metadata.example.com resolved to");
    });

  it("one bad address among good ones refuses the request", () => {
    const { host } = setup({ lookup: () => ["93.184.216.34", "fd00:ec2::254"] });
    expect(wasiError(request(host, "mixed.example.com")!)).toEqual(DENIED);
  });
});
