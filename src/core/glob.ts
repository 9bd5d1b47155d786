import picomatch from "picomatch";

/**
 * Glob compilation, shared by every layer that matches names (the core firewall, the policy).
 * Two dialects:
 * - name globs (tools, prompts, keys, hosts, URIs without paths): `*` any run of characters,
 *   `?` one character, `[abc]` / `[!abc]` a class, `{a,b}` alternatives; no separators.
 *   Compiled by our own translator to one anchored RegExp (picomatch treats `/` and `.` as
 *   separators, which names do not have).
 * - path globs (storage, file URIs, path parameters): picomatch with `dot: true` (so `**`
 *   also covers dot files: a deny on `/etc/**` covers `/etc/.hidden`), except the common
 *   `prefix/**` form, compiled to a prefix test, measurably faster than a RegExp.
 */
export type Test = (s: string) => boolean;

const GLOB_CHARS = /[*?[\]{}]/;

export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** The characters before the first glob character. */
export function literalPrefix(pattern: string): string {
  const i = pattern.search(GLOB_CHARS);
  return i < 0 ? pattern : pattern.slice(0, i);
}

/** The characters after the last glob character. */
export function literalSuffix(pattern: string): string {
  let i = pattern.length;
  while (i > 0 && !GLOB_CHARS.test(pattern[i - 1]!)) i--;
  return pattern.slice(i);
}

/** Translate a name glob to an anchored RegExp source; throws with a reason when invalid. */
export function nameGlobSource(pattern: string): string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      while (pattern[i + 1] === "*") i++;
      out += "[\\s\\S]*";
    } else if (c === "?") out += "[\\s\\S]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw new Error(`unclosed "[" at position ${i + 1}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      out += `[${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else if (c === "]" || c === "}") throw new Error(`unmatched "${c}" at position ${i + 1}`);
    else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  if (depth > 0) throw new Error(`unclosed "{"`);
  return `^(?:${out})$`;
}

/**
 * Compile a name glob. The common shapes get a direct test, measurably faster than a RegExp
 * both to build and to run: `prefix*`, `*suffix`, `prefix*suffix`. Others become one anchored
 * RegExp.
 */
export function compileNameGlob(pattern: string): Test {
  if (pattern === "*" || pattern === "**") return () => true;
  const star = pattern.indexOf("*");
  const rest = star < 0 ? "" : pattern.slice(star).replace(/^\*+/, "");
  if (star >= 0 && !GLOB_CHARS.test(pattern.slice(0, star)) && !GLOB_CHARS.test(rest)) {
    const prefix = pattern.slice(0, star);
    const suffix = rest;
    const min = prefix.length + suffix.length;
    if (suffix === "") return (s) => s.startsWith(prefix);
    if (prefix === "") return (s) => s.endsWith(suffix);
    return (s) => s.length >= min && s.startsWith(prefix) && s.endsWith(suffix);
  }
  const re = new RegExp(nameGlobSource(pattern), "u");
  return (s) => re.test(s);
}

export function compilePathGlob(pattern: string, nocase = false): Test {
  if (pattern === "/**" || pattern === "/**/*" || pattern === "**") return () => true;
  const m = /^(\/[^*?[\]{}()!+@]*?)\/\*\*$/.exec(pattern);
  if (m) {
    const base = m[1]!;
    const dir = `${base}/`;
    return (s) => s.startsWith(dir) || s === base;
  }
  const re = picomatch.makeRe(pattern, { dot: true, nocase, strictBrackets: true });
  return (s) => re.test(s);
}
