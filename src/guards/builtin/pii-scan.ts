/**
 * The PII scanner: one precompiled regex with a named group per kind, run once over each string;
 * candidates that need more than a pattern (cards: Luhn and issuer prefix; phones: digit count)
 * are checked in code.
 */
export const PII_KINDS = [
  "email",
  "phone",
  "card",
  "national_id",
  "api_key",
  "private_key",
] as const;
export type PiiKind = (typeof PII_KINDS)[number];

const PARTS: Record<PiiKind, string> = {
  private_key: String.raw`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)`,
  api_key: [
    String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
    String.raw`\bgh[pousr]_[A-Za-z0-9]{36,255}\b`,
    String.raw`\bgithub_pat_[A-Za-z0-9_]{22,255}\b`,
    String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}`,
    String.raw`\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`,
    String.raw`\bsk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}`,
    String.raw`\bAIza[0-9A-Za-z_-]{35}(?![\w-])`,
    String.raw`\bglpat-[A-Za-z0-9_-]{20,}`,
    String.raw`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`,
    String.raw`(?<=\b(?:[Aa][Pp][Ii][_-]?[Kk][Ee][Yy]|[Ss][Ee][Cc][Rr][Ee][Tt]|[Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww](?:[Oo][Rr])?[Dd])["']?\s*[:=]\s*["']?)(?=[A-Za-z0-9_\/+=.-]*\d)(?=[A-Za-z0-9_\/+=.-]*[A-Za-z])[A-Za-z0-9_\/+=.-]{16,}`,
  ].join("|"),
  email: String.raw`(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|:[\w~\/])`,
  national_id: [
    // US Social Security number (dashed; area 000, 666 and 9xx never issued)
    String.raw`(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])`,
    // UK National Insurance number
    String.raw`\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`,
  ].join("|"),
  card: String.raw`(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|\.\d)`,
  phone: [
    String.raw`(?<![\w+.-])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}(?![\w-]|\.\d)`,
    String.raw`(?<![\w.-])\([2-9]\d{2}\) ?[2-9]\d{2}[ .-]\d{4}(?![\w-]|\.\d)`,
    String.raw`(?<![\w.-])(?:[2-9]\d{2}-[2-9]\d{2}-\d{4}|[2-9]\d{2}\.[2-9]\d{2}\.\d{4})(?![\w-]|\.\d)`,
  ].join("|"),
};

const RE = new RegExp(
  (Object.keys(PARTS) as PiiKind[]).map((k) => `(?<${k}>${PARTS[k]})`).join("|"),
  "g",
);
const ORDER = Object.keys(PARTS) as PiiKind[];

/** Luhn checksum over the digits of `s` (separators ignored). */
export function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the major card networks. */
function cardIssuer(d: string): boolean {
  const n = d.length;
  const p2 = +d.slice(0, 2);
  const p4 = +d.slice(0, 4);
  if (d[0] === "4") return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 === 6011 || p2 === 65 || (+d.slice(0, 3) >= 644 && +d.slice(0, 3) <= 649))
    return n >= 16 && n <= 19; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (+d.slice(0, 3) >= 300 && +d.slice(0, 3) <= 305))
    return n >= 14 && n <= 19; // Diners
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  return false;
}

export interface PiiHit {
  kind: PiiKind;
  start: number;
  end: number;
}

/** Every PII hit in `text` of the enabled kinds, in order. */
export function scanPii(
  text: string,
  kinds: ReadonlySet<PiiKind>,
  allow?: ReadonlySet<string>,
): PiiHit[] {
  let out: PiiHit[] | undefined;
  RE.lastIndex = 0;
  for (let m = RE.exec(text); m !== null; m = RE.exec(text)) {
    const g = m.groups!;
    let kind: PiiKind | undefined;
    for (const k of ORDER)
      if (g[k] !== undefined) {
        kind = k;
        break;
      }
    if (kind === undefined || !kinds.has(kind)) continue;
    const v = m[0];
    if (kind === "card") {
      const d = v.replace(/[ -]/g, "");
      if (!luhn(d) || !cardIssuer(d)) continue;
    } else if (kind === "phone") {
      let n = 0;
      for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) n++;
      if (n < 8 || n > 15) continue;
    }
    if (allow?.has(v)) continue;
    (out ??= []).push({ kind, start: m.index, end: m.index + v.length });
  }
  return out ?? NONE;
}
const NONE: PiiHit[] = [];

/** Replace each hit with `[REDACTED:<kind>]`. */
export function redact(text: string, hits: readonly PiiHit[]): string {
  let out = "";
  let at = 0;
  for (const h of hits) {
    out += `${text.slice(at, h.start)}[REDACTED:${h.kind}]`;
    at = h.end;
  }
  return out + text.slice(at);
}
