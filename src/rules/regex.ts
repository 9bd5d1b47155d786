/**
 * The `matches` operator's patterns: RE2 syntax, matched by @bufbuild/re2 (a port of RE2/J,
 * the engine CEL specifies for matches()). RE2 runs in time linear in the input and has no
 * backreferences or lookaround, so no pattern in a rules file can make a match backtrack
 * (ReDoS); patterns are bounded in length and compiled once at load.
 */
import { RE2JS } from "@bufbuild/re2";

/** The longest pattern a rules file may hold. */
export const MAX_PATTERN_CHARS = 1024;

export interface SafeRegex {
  test(text: string): boolean;
}

/** Compile `pattern` (RE2 syntax, unanchored: `^...$` to anchor), or say why it cannot be. */
export function compileRegex(pattern: string): SafeRegex | string {
  if (pattern.length > MAX_PATTERN_CHARS)
    return `the pattern has ${pattern.length} characters; patterns are at most ${MAX_PATTERN_CHARS}`;
  try {
    const re = RE2JS.compile(pattern);
    return { test: (text: string) => re.test(text) };
  } catch (e) {
    return `the pattern is not valid RE2 syntax (${e instanceof Error ? e.message : String(e)}); RE2 has no backreferences or lookaround`;
  }
}
