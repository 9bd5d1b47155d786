/**
 * Judging the address a connection actually goes to, so DNS tricks do not pass: a name the
 * policy allows may resolve to anything. Each resolved address is asked as a
 * `network.connect` of the address itself: a deny rule on it (a CIDR such as
 * 169.254.0.0/16, an IP) refuses the connection whatever allowed the name. Addresses no
 * legitimate name should lead to (link-local and cloud metadata 169.254.0.0/16 and fe80::/10,
 * unspecified 0.0.0.0/8 and ::, and loopback 127.0.0.0/8 and ::1 unless the name is
 * `localhost` or ends in `.localhost`) are refused unless an allow rule names the address or
 * its range. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address (the policy's
 * canonical host form).
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
    return undefined;
  }
  const g = c.value.ipv6;
  if (g === undefined) return undefined;
  if ((g[0]! & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if (g.every((x) => x === 0)) return "the unspecified address (::)";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1 && !isLocalhostName(viaName))
    return "the loopback address (::1)";
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
