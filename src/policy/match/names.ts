import { canonicalizeName } from "../canon/name.js";
import type { Rule } from "../rule.js";
import { compileNameGlob, compilePathGlob, isGlob, literalPrefix, literalSuffix } from "./glob.js";
import type { PatternSet } from "./pattern-set.js";

/**
 * Add a name pattern (exact or glob) to a set. Deny sets are folded to lower case (a deny
 * matches whatever the case of the request); allow sets match the exact canonical name.
 * Returns an error message, or undefined.
 */
export function addNamePattern<R extends Rule>(
  set: PatternSet<R>,
  pattern: string,
  rule: R,
  opts: { fold?: boolean; fromEnd?: boolean } = {},
): string | undefined {
  const c = canonicalizeName(pattern);
  if (!c.ok) return `pattern "${pattern}": ${c.reason}`;
  const p = opts.fold ? c.value.toLowerCase() : c.value;
  if (!isGlob(p)) {
    set.addExact(p, rule);
    return undefined;
  }
  if (p === "*" || p === "**") {
    set.addAny(rule);
    return undefined;
  }
  try {
    set.addGlob(opts.fromEnd ? literalSuffix(p) : literalPrefix(p), compileNameGlob(p), rule);
  } catch (e) {
    return `pattern "${pattern}" is not a valid glob: ${(e as Error).message}`;
  }
  return undefined;
}

/** Add a canonical absolute path pattern. */
export function addPathPattern<R extends Rule>(
  set: PatternSet<R>,
  pattern: string,
  rule: R,
  nocase: boolean,
): string | undefined {
  if (!isGlob(pattern)) {
    set.addExact(pattern, rule);
    return undefined;
  }
  try {
    const test = compilePathGlob(pattern, nocase);
    if (pattern === "/**" || pattern === "**") set.addAny(rule);
    else {
      // `/a/**` also matches `/a` itself: index it under `/a`, never under `/a/`.
      let prefix = literalPrefix(pattern);
      if (prefix.length > 1 && prefix.endsWith("/")) prefix = prefix.slice(0, -1);
      set.addGlob(prefix, test, rule);
    }
  } catch (e) {
    return `pattern "${pattern}" is not a valid glob: ${(e as Error).message}`;
  }
  return undefined;
}
