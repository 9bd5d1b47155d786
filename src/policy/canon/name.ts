import { type Canon, fail } from "./result.js";

/**
 * Names (tools, prompts, environment keys, callers) are judged as the server reads them: as
 * written. A name that NFKC would change (`ｓｙｓｔｅｍ`, `ﬁle`, `ſystem`) is refused, never
 * folded: folded, an allow rule for `calculator` would admit `ｃalculator`, which the server
 * reads as another name. Control characters,
 * invisible/format characters (zero-width, bidi controls, BOM, soft hyphen, variation
 * selectors, tag characters) and unpaired surrogates are refused, never stripped: a name that
 * hides characters is denied with a reason. Look-alike letters from other scripts stay (they
 * are other names); deny rules also judge them by their skeleton (`confusable.ts`).
 */
// Cc, Cf, Zl, Zp, Co, Cs, noncharacters, variation selectors, combining grapheme joiner,
// Hangul fillers and other default-ignorable code points.
const BAD_NAME =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u;
const BAD_SPACE = /^\s|\s$|[^\S ]/u;

/**
 * Printable ASCII without spaces: canonical as it is, no need to call `canonicalizeName` (a
 * loop beats a RegExp call here).
 */
export function isPlainName(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The name itself when it is in NFKC form and clean, or why it is refused. Checked after normalizing: NFKC keeps every
 * character `BAD_NAME` refuses and makes none from characters it accepts (test/policy/
 * canon-name.test.ts checks every code point), so checking before too would refuse nothing more.
 */
export function canonicalizeName(name: unknown): Canon {
  if (typeof name !== "string") return fail("name must be a string");
  if (isPlainName(name)) return { ok: true, value: name };
  if (name.length === 0) return fail("name is empty");
  const value = name.normalize("NFKC");
  if (BAD_NAME.test(value)) return fail("name contains a control or invisible character");
  if (BAD_SPACE.test(value)) return fail("name has leading/trailing or non-ASCII whitespace");
  if (value !== name)
    return fail(
      `name is not in NFKC form (it would read as "${value}"); the server reads it as written, so it is refused rather than judged as another name`,
    );
  return { ok: true, value };
}
