import picomatch from "picomatch";

/**
 * Name globs for the firewall: `*` matches any run of characters (dots and slashes included),
 * `?` one character, `[abc]` and `{a,b}` as in picomatch. A pattern without glob characters is
 * matched exactly (and is indexed for O(1) lookup by the caller).
 */
export function isGlob(pattern: string): boolean {
  return /[*?[\]{}!]/.test(pattern);
}

export function compileGlob(pattern: string): (value: string) => boolean {
  if (pattern === "*" || pattern === "**") return () => true;
  if (!isGlob(pattern)) return (value) => value === pattern;
  const re = picomatch.makeRe(pattern, { bash: true, dot: true, nonegate: true });
  return (value) => re.test(value);
}
