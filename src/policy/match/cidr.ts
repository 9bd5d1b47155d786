import { ipv4ToInt, parseIpv6 } from "../canon/ip.js";
import { deepFreeze } from "../freeze.js";
import type { Ranked } from "./pattern-set.js";

/** Parse `a.b.c.d/n` or `v6::/n`; throws with a reason when invalid. */
export function parseCidr(
  text: string,
): { v: 4; net: number; len: number } | { v: 6; groups: number[]; len: number } {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) {
    throw new Error(`prefix length "${lenText}" is not a number`);
  }
  const v4 = ipv4ToInt(addr);
  if (v4 >= 0) {
    const len = lenText === undefined ? 32 : Number(lenText);
    if (len > 32) throw new Error(`IPv4 prefix length ${len} is over 32`);
    const net = mask4(v4, len);
    if (net !== v4) throw new Error(`host bits are set: did you mean ${fmt4(net)}/${len}?`);
    return { v: 4, net, len };
  }
  const groups = parseIpv6(addr);
  if (groups === undefined) throw new Error(`"${addr}" is not an IPv4 or IPv6 address`);
  const len = lenText === undefined ? 128 : Number(lenText);
  if (len > 128) throw new Error(`IPv6 prefix length ${len} is over 128`);
  return { v: 6, groups, len };
}

function fmt4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function mask4(ip: number, len: number): number {
  return len === 0 ? 0 : (ip & (0xffffffff << (32 - len))) >>> 0;
}

function in6(ip: readonly number[], net: readonly number[], len: number): boolean {
  for (let i = 0; i < 8 && len > 0; i++, len -= 16) {
    const bits = Math.min(16, len);
    const m = (0xffff << (16 - bits)) & 0xffff;
    if ((ip[i]! & m) !== (net[i]! & m)) return false;
  }
  return true;
}

/**
 * CIDR rules as bit-prefix checks: IPv4 networks in one Map per prefix length (one masked
 * integer lookup per distinct length); IPv6 networks checked group by group.
 */
export class CidrSet<R extends Ranked> {
  #v4 = new Map<number, Map<number, R>>();
  #lens: number[] = [];
  #maps: Map<number, R>[] = [];
  #v6: { groups: number[]; len: number; rule: R }[] = [];
  #built = false;

  add(cidr: ReturnType<typeof parseCidr>, rule: R): void {
    if (this.#built) throw new TypeError("a built CidrSet is immutable");
    deepFreeze(rule);
    if (cidr.v === 6) {
      this.#v6.push({ groups: cidr.groups, len: cidr.len, rule });
      return;
    }
    let m = this.#v4.get(cidr.len);
    if (!m) this.#v4.set(cidr.len, (m = new Map()));
    const prev = m.get(cidr.net);
    if (prev === undefined || rule.index < prev.index) m.set(cidr.net, rule);
  }

  build(): this {
    if (this.#built) throw new TypeError("a built CidrSet is immutable");
    this.#built = true;
    this.#lens = [...this.#v4.keys()].sort((a, b) => b - a);
    this.#maps = this.#lens.map((l) => this.#v4.get(l)!);
    this.#v6.sort((a, b) => a.rule.index - b.rule.index);
    return this;
  }

  get empty(): boolean {
    return this.#lens.length === 0 && this.#v6.length === 0;
  }

  first4(ip: number): R | undefined {
    let best: R | undefined;
    for (let i = 0; i < this.#lens.length; i++) {
      const r = this.#maps[i]!.get(mask4(ip, this.#lens[i]!));
      if (r !== undefined && (best === undefined || r.index < best.index)) best = r;
    }
    return best;
  }

  first6(ip: readonly number[]): R | undefined {
    for (const e of this.#v6) if (in6(ip, e.groups, e.len)) return e.rule;
    return undefined;
  }
}
