import { type LengthPlan, SEED, step } from "./pattern-set.js";

/**
 * One backward pass over a host name for the host sets: checks that it is a canonical name as
 * it stands (as `isCanonicalName` in canon/host.ts: lower-case ASCII letters, digits, `-` and
 * `.`, no empty label, at most 253 characters, a last label that is not a number) and hashes
 * its suffixes at the plan's lengths into `out`, as `LengthPlan.hashSuffixes` would. Returns
 * how many of the plan's lengths fit, or -1 when the host needs `canonicalizeHost` first.
 */
export function scanHost(s: string, plan: LengthPlan, out: Int32Array): number {
  const n = s.length;
  if (n === 0 || n > 253) return -1;
  const m = plan.count;
  let next = m > 0 ? plan.at(0) : -1;
  const maxLen = m > 0 ? plan.at(m - 1) : 0;
  let h = SEED;
  let k = 0;
  let labelEnd = n; // where the label being read ends (exclusive)
  let last = true; // reading the last label (the first one met from the end)
  let decider = 0; // last label: its first letter or "-" in reading order, 0 if none
  for (let j = 0; j < n; j++) {
    if (j === next) {
      out[k++] = h;
      next = k < m ? plan.at(k) : -1;
    }
    const i = n - 1 - j;
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (i === labelEnd - 1) return -1; // an empty label (or a trailing dot)
      if (last) {
        if (!nameLabel(s, i + 1, decider)) return -1;
        last = false;
      }
      labelEnd = i;
    } else if ((c >= 97 && c <= 122) || c === 45) {
      if (last) decider = c;
    } else if (c < 48 || c > 57) return -1;
    if (j < maxLen) h = step(h, c); // past the longest bucket no hash is needed
  }
  if (labelEnd === 0) return -1; // a leading dot
  if (last && !nameLabel(s, 0, decider)) return -1;
  if (n === next) out[k++] = h;
  return k;
}

/** A last label is a name (not an IPv4 number) when its first letter or "-" says so. */
function nameLabel(s: string, start: number, decider: number): boolean {
  if (decider === 0) return false; // digits only: the URL parser reads a number
  if (decider === 45) return true;
  return !(s.charCodeAt(start) === 48 && s.charCodeAt(start + 1) === 120); // 0x...: hex
}
