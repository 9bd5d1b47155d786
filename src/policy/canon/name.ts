import { type Canon, fail } from "./result.js";

/**
 * Names (tools, prompts, environment keys, callers): NFKC-normalised; control characters,
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

/** Printable ASCII without spaces: already canonical (a loop beats a RegExp call here). */
function isPlainAscii(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * 0 when `s` is not plain printable ASCII (take `canonicalizeName`), 1 when it is and has no
 * upper case (its deny fold is itself), 2 when it is and has upper case: one pass for both.
 */
export function plainNameKind(s: string): 0 | 1 | 2 {
  const n = s.length;
  if (n === 0) return 0;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return 0;
    if (c >= 65 && c <= 90) upper = true;
  }
  return upper ? 2 : 1;
}

export function canonicalizeName(name: unknown): Canon {
  if (typeof name !== "string") return fail("name must be a string");
  if (isPlainAscii(name)) return { ok: true, value: name };
  if (name.length === 0) return fail("name is empty");
  if (BAD_NAME.test(name)) return fail("name contains a control or invisible character");
  const value = name.normalize("NFKC");
  if (BAD_NAME.test(value)) return fail("name contains a control or invisible character");
  if (BAD_SPACE.test(value)) return fail("name has leading/trailing or non-ASCII whitespace");
  return { ok: true, value };
}

/** Lower-case form used by deny rules on names (deny matches whatever the case). */
export function foldName(name: string): string {
  return name.toLowerCase();
}
