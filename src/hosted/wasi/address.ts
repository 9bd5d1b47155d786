/**
 * Judging the address a connection actually goes to, so DNS tricks do not pass: a name the
 * policy allows may resolve to anything. Each resolved address is asked as a
 * `network.connect` of the address itself: a deny rule on it (a CIDR such as
 * 169.254.0.0/16, an IP) refuses the connection whatever allowed the name. Addresses no
 * legitimate name should lead to (link-local and cloud metadata 169.254.0.0/16 and fe80::/10,
 * unspecified 0.0.0.0/8 and ::, and loopback 127.0.0.0/8 and ::1 unless the name is
 * `localhost` or ends in `.localhost`) are refused unless an allow rule names the address or
 * its range. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address (the policy's
 * canonical host form). So are the other IPv6 forms that carry an IPv4 address a translator,
 * tunnel or kernel may deliver to (IPv4-compatible ::/96, IPv4-translated ::ffff:0:0/96, NAT64
 * 64:ff9b::/96, 6to4 2002::/16): a name answering 64:ff9b::a9fe:a9fe is answering
 * 169.254.169.254. The cloud metadata services outside 169.254.0.0/16 are refused the same way:
 * AWS's over IPv6 (fd00:ec2::254) and Alibaba Cloud's (100.100.100.200).
 */
import { canonicalizeHost } from "../../policy/canon/host.js";
import type { Crossings, WasiDenied } from "./crossing.js";

/** Why an address needs an explicit rule, or undefined. */
export function specialRange(host: string, viaName: string | undefined): string | undefined {
  const c = canonicalizeHost(host);
  if (!c.ok) return "not an address Warden can read";
  const v4 = c.value.ipv4;
  if (v4 >= 0) {
    const a = v4 >>> 24;
    const b = (v4 >>> 16) & 0xff;
    if (a === 169 && b === 254)
      return "a link-local address (169.254.0.0/16, where cloud metadata services answer)";
    if (a === 0) return "an unspecified address (0.0.0.0/8)";
    if (a === 127 && !isLocalhostName(viaName)) return "a loopback address (127.0.0.0/8)";
    if (v4 === 0x64_64_64_c8)
      return "the Alibaba Cloud metadata service's address (100.100.100.200)";
    return undefined;
  }
  const g = c.value.ipv6;
  if (g === undefined) return undefined;
  const inner = embeddedIpv4(g);
  if (inner !== undefined) {
    const why = specialRange(inner, viaName);
    if (why !== undefined) return `${why}, carried in the IPv6 address ${c.value.host}`;
  }
  if (g.join(":") === "64768:3778:0:0:0:0:0:596")
    return "the AWS instance metadata service's IPv6 address (fd00:ec2::254)";
  if ((g[0]! & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if (g.every((x) => x === 0)) return "the unspecified address (::)";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1 && !isLocalhostName(viaName))
    return "the loopback address (::1)";
  return undefined;
}

/**
 * The IPv4 address an IPv6 address carries for a translator, tunnel or the kernel, as text:
 * IPv4-compatible (::a.b.c.d, not :: or ::1), IPv4-translated (::ffff:0:a.b.c.d), NAT64's
 * well-known prefix (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::/48); else undefined.
 */
function embeddedIpv4(g: readonly number[]): string | undefined {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const text = (hi: number, lo: number) => `${hi >>> 8}.${hi & 0xff}.${lo >>> 8}.${lo & 0xff}`;
  if (zero(0, 6) && (g[6] !== 0 || g[7]! > 1)) return text(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return text(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return text(g[6]!, g[7]!);
  if (g[0] === 0x2002) return text(g[1]!, g[2]!);
  return undefined;
}

function isLocalhostName(name: string | undefined): boolean {
  return name !== undefined && (name === "localhost" || name.endsWith(".localhost"));
}

/**
 * Judge a connection to `address` (an IP) on `port`, reached through the name `viaName`
 * (undefined when the component gave the address itself; then the address must be allowed on
 * its own). Returns the refusal to throw, or undefined when allowed.
 */
export function judgeAddress(
  crossings: Crossings,
  iface: string,
  fn: string,
  address: string,
  port: number | undefined,
  viaName: string | undefined,
  denied: unknown,
): WasiDenied | undefined {
  const act =
    port === undefined
      ? { kind: "network.connect" as const, host: address }
      : { kind: "network.connect" as const, host: address, port };
  const j = crossings.judge(act);
  if (j.decision.allowed) return undefined;
  const name = viaName === undefined ? "" : ` (${viaName} resolved to it)`;
  if (j.decision.code === "deny_rule" || viaName === undefined)
    return crossings.refuse(iface, fn, act, `${address}${name}: ${j.decision.reason}`, denied, j);
  const special = specialRange(address, viaName);
  if (special !== undefined)
    return crossings.refuse(
      iface,
      fn,
      act,
      `${viaName} resolved to ${address}, ${special}: allowing the name does not allow it; a rule on the address or its range would`,
      denied,
      { decision: j.decision, ...(j.hint ? { hint: j.hint } : {}) },
    );
  return undefined;
}

/** A WASI ip-address (`{tag: "ipv4", val: [a,b,c,d]}` / ipv6 with 8 groups) as text. */
export function ipText(a: { tag: string; val: readonly number[] }): string {
  if (a.tag === "ipv4") return a.val.join(".");
  return a.val.map((x) => x.toString(16)).join(":");
}
