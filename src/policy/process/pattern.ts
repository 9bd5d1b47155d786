/**
 * Patterns of the process sections (`commands`, `nodejs`, `python`, `http`, `endpoints`): the
 * dialect malwi's users write, so a malwi policy means the same here.
 *
 * - no `*` or `?`: an exact string;
 * - a glob: `?` is one character, `**` any run of characters, `*` any run too, except in
 *   path-like patterns (URLs, and patterns that start with `/` or `~`) where it stops at `/`;
 *   `**` followed by `/` is zero or more whole segments;
 * - `regex:<source>`: an RE2 regular expression (unanchored unless it anchors itself), matched
 *   by @bufbuild/re2 in time linear in the input: the input is what a traced program asks for,
 *   so no pattern may backtrack on it (ReDoS); RE2 has no backreferences or lookaround.
 *
 * Specificity (which of several matching rules decides, as malwi): an exact pattern counts
 * twice its length, a glob its literal characters, a regex the characters of its source that
 * are not operators.
 */
import { RE2JS } from "@bufbuild/re2";

/** The longest `regex:` body a policy may hold. */
const MAX_REGEX_CHARS = 1024;

export interface ProcessPattern {
  /** As written in the policy. */
  readonly source: string;
  readonly specificity: number;
  readonly test: (s: string) => boolean;
}

export interface PatternOptions {
  /** Compare case-insensitively (URLs, hosts). */
  readonly nocase?: boolean;
  /** `*` stops at `/` (URLs; patterns starting with `/` or `~` always do). */
  readonly pathLike?: boolean;
}

const REGEX_OPERATORS = /[\^$.+()[\]{}|\\?*]/g;

function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** The anchored RegExp source of a glob. */
export function globSource(glob: string, pathLike: boolean): string {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        if (glob[i + 2] === "/") {
          out += "(?:.*/)?";
          i += 2;
        } else {
          out += ".*";
          i += 1;
        }
      } else out += pathLike ? "[^/]*" : ".*";
    } else if (c === "?") out += pathLike ? "[^/]" : ".";
    else out += literal(c);
  }
  return `${out}$`;
}

/** Compile one pattern, or say why it cannot be (a bad `regex:`). */
export function compileProcessPattern(
  raw: string,
  opts: PatternOptions = {},
): ProcessPattern | string {
  const nocase = opts.nocase === true;
  if (raw.startsWith("regex:")) {
    const body = raw.slice(6);
    if (body.length > MAX_REGEX_CHARS)
      return `regex has ${body.length} characters; a regex is at most ${MAX_REGEX_CHARS}`;
    let re: RE2JS;
    try {
      re = RE2JS.compile(body, nocase ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (e) {
      return `regex "${body}" is not valid RE2 syntax (${(e as Error).message}); RE2 has no backreferences or lookaround`;
    }
    return Object.freeze({
      source: raw,
      specificity: body.replace(REGEX_OPERATORS, "").length,
      test: (s: string) => re.test(s),
    });
  }
  if (raw === "") return "a pattern must not be empty";
  if (!raw.includes("*") && !raw.includes("?")) {
    const exact = nocase ? raw.toLowerCase() : raw;
    return Object.freeze({
      source: raw,
      specificity: raw.length * 2,
      test: nocase ? (s: string) => s.toLowerCase() === exact : (s: string) => s === exact,
    });
  }
  const pathLike = opts.pathLike === true || raw.startsWith("/") || raw.startsWith("~");
  const re = new RegExp(globSource(raw, pathLike), nocase ? "is" : "s");
  return Object.freeze({
    source: raw,
    specificity: raw.replace(/[*?]/g, "").length,
    test: (s: string) => re.test(s),
  });
}
