import { formatIpv6, intToIpv4, ipv4ToInt, mappedIpv4, parseIpv6 } from "./ip.js";
import { type Canon, fail } from "./result.js";

/**
 * Hosts: one canonical form, as the WHATWG URL parser (the one `fetch` uses) sees them:
 * lower case, IDN to punycode (UTS #46 mapping, so full-width dots and compatibility letters
 * fold), one trailing dot removed, IPv4 in decimal / octal / hex / short forms to dotted quad,
 * IPv6 compressed (RFC 5952) without brackets, IPv4-mapped IPv6 (::ffff:a.b.c.d) to IPv4.
 * A host that carries userinfo, a path, a zone id or anything the parser rejects is refused.
 */
export interface CanonHost {
  /** Canonical host name or address (IPv6 without brackets). */
  host: string;
  /** IPv4 as an unsigned integer, or -1. */
  ipv4: number;
  /** IPv6 groups, when the host is an IPv6 address (not mapped IPv4). */
  ipv6?: readonly number[];
  /** A port given inside the host string (`host:8080`, `[::1]:8080`), or -1. */
  port: number;
}

/**
 * True when the URL parser would leave `s` unchanged and read it as a name: lower-case
 * ASCII letters, digits, `-` and `.`, no empty label, at most 253 characters, and a last
 * label that is not a number (the parser reads `1.2.3.4`, `0x7f`, `017` as IPv4).
 */
export function isCanonicalName(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 253) return false;
  let labelStart = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (i === labelStart) return false;
      labelStart = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return false;
  }
  // Last label (empty after a trailing dot: no letter): a name only if it has a letter other
  // than a hex-number form (0x...).
  let letter = false;
  for (let i = labelStart; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) {
      letter = true;
      break;
    }
    if (c === 45) return true;
  }
  if (!letter) return false;
  return !(s.charCodeAt(labelStart) === 48 && s.charCodeAt(labelStart + 1) === 120);
}

export function canonicalizeHost(input: unknown): Canon<CanonHost> {
  if (typeof input !== "string") return fail("host must be a string");
  if (isCanonicalName(input)) return { ok: true, value: { host: input, ipv4: -1, port: -1 } };
  const v4 = ipv4ToInt(input);
  if (v4 >= 0) return { ok: true, value: { host: input, ipv4: v4, port: -1 } };
  if (input.length === 0) return fail("host is empty");
  if (input.length > 1024) return fail("host is too long");
  if (/[\s@/\\?#\u0000-\u001f\u007f]/.test(input)) {
    return fail("host contains whitespace, userinfo (@), a path or control characters");
  }
  let text = input;
  // A bare IPv6 address (more than one colon, no brackets): bracket it for the URL parser.
  if (!text.startsWith("[") && text.indexOf(":") !== text.lastIndexOf(":")) text = `[${text}]`;
  let url: URL;
  try {
    url = new URL(`http://${text}/`);
  } catch {
    return fail(`"${input.slice(0, 80)}" is not a valid host name or IP address`);
  }
  // No user info, path, query or fragment can follow: `@`, `/`, `\`, `?` and `#` were refused.
  // The parser leaves out a port equal to the scheme's default (80, written `:80` or `:0080`).
  const port = url.port !== "" ? Number(url.port) : /:[0-9]+$/.test(text) ? 80 : -1;
  return fromHostname(url.hostname, port);
}

/** Canonical form of a hostname already parsed by the URL parser. */
export function fromHostname(hostname: string, port: number): Canon<CanonHost> {
  let host = hostname;
  if (host.startsWith("[")) {
    const groups = parseIpv6(host.slice(1, -1));
    // The parser wrote it: always a valid address (the guard is for the type).
    if (groups === undefined) return fail("invalid IPv6 address");
    const v4 = mappedIpv4(groups);
    if (v4 >= 0) return { ok: true, value: { host: intToIpv4(v4), ipv4: v4, port } };
    return { ok: true, value: { host: formatIpv6(groups), ipv4: -1, ipv6: groups, port } };
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host === "" || host.endsWith(".") || host.includes(".."))
    return fail("host has empty labels");
  // No `%` is left: the parser decodes escapes and refuses `%` in the hosts of http(s) and
  // ws(s) URLs, the only ones read here.
  const n = ipv4ToInt(host);
  return { ok: true, value: { host, ipv4: n, port } };
}
