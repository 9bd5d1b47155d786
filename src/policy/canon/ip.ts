/** IP addresses as numbers: IPv4 as an unsigned 32-bit integer, IPv6 as eight 16-bit groups. */

/** A canonical dotted-quad IPv4 address (no leading zeros) to its integer, or -1. */
export function ipv4ToInt(s: string): number {
  const n = s.length;
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero: not canonical
      part = part * 10 + (c - 48);
      if (++digits > 3) return -1;
    } else return -1;
  }
  return dots === 4 ? out : -1;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Parse an IPv6 address (no brackets, no zone) into 8 groups; undefined when invalid. */
export function parseIpv6(s: string): number[] | undefined {
  // Each group is checked below (hex, 1 to 4 digits), and the IPv4 tail by ipv4ToInt.
  let tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    if (n < 0) return undefined;
    tail = [n >>> 16, n & 0xffff];
    // `1:2:3:4:5:6:` + tail, or `::` + tail: keep the `::`, drop a single `:`.
    s = s.slice(0, v4.index);
    if (s.endsWith(":")) s = `${s}:`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const total = head.length + rest.length + tail.length;
  if (halves.length === 1) return total === 8 ? [...head, ...tail] : undefined;
  if (total > 7) return undefined;
  return [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
}

/** Canonical text (RFC 5952: lower case, longest zero run compressed) of 8 groups. */
export function formatIpv6(g: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), or -1. */
export function mappedIpv4(g: readonly number[]): number {
  for (let i = 0; i < 5; i++) if (g[i] !== 0) return -1;
  if (g[5] !== 0xffff) return -1;
  return ((g[6]! << 16) | g[7]!) >>> 0;
}
