import {
  compileNameGlob,
  compilePathGlob,
  isGlob,
  literalPrefix,
  literalSuffix,
} from "../../core/glob.js";
import { canonicalizeName } from "../canon/name.js";
import type { Rule } from "../rule.js";
import { GlobShape, type PatternSet } from "./pattern-set.js";

const PURE_PREFIX = /^[^*?[\]{}]*\*+$/;
const PURE_SUFFIX = /^\*+[^*?[\]{}]*$/;
/** `/dir/**` with a literal dir: what `compilePathGlob` turns into a prefix test. */
const TREE = /^(\/[^*?[\]{}()!+@]*?)\/\*\*$/;

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
    // `prefix*` (from the end: `*suffix`) is a literal comparison, no test call.
    const pure = opts.fromEnd ? PURE_SUFFIX.test(p) : PURE_PREFIX.test(p);
    set.addGlob(
      opts.fromEnd ? literalSuffix(p) : literalPrefix(p),
      compileNameGlob(p),
      rule,
      pure ? GlobShape.Affix : GlobShape.Test,
    );
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
      const tree = TREE.test(pattern) && `${prefix}/**` === pattern;
      set.addGlob(prefix, test, rule, tree ? GlobShape.Tree : GlobShape.Test);
    }
  } catch (e) {
    return `pattern "${pattern}" is not a valid glob: ${(e as Error).message}`;
  }
  return undefined;
}
