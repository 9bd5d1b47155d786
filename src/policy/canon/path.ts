import { type Canon, fail } from "./result.js";

/**
 * Paths: one absolute POSIX form. Accepts a plain absolute path, `fs:///abs`, `fs://abs`
 * (read as `/abs`) and `file:///abs`. Steps, in order:
 * 1. refuse NUL and other control characters;
 * 2. percent-decode once; an encoded `/`, `\`, `.`, `%` or control character is refused (so
 *    double encoding and encoded separators cannot change what the path names);
 * 3. refuse invalid UTF-8 and invisible/format characters; NFC-normalise;
 * 4. backslashes become `/`; repeated slashes collapse; `.` segments go; `..` removes the
 *    previous segment and stops at the root (as the kernel does: `/../etc` is `/etc`);
 *    a trailing slash goes;
 * 5. on case-insensitive targets, lower-case.
 * Symlinks are not resolved here (no I/O): callers resolve them at the host boundary with
 * `resolveRealPath` before asking.
 */
const FAST_PATH = /^(?:\/[A-Za-z0-9_\-+=,@~][A-Za-z0-9_\-+=,@~.]*)+$|^\/$/;
const ENCODED = /%[0-9A-Fa-f]{2}/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const BAD_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffe\uffff]/u;
const BAD_ENCODED = /%(?:2[eEfF5]|5[cC]|[01][0-9A-Fa-f]|7[fF])/;

export interface PathOptions {
  /** Lower-case the path (targets that ignore case: macOS, Windows). */
  caseInsensitive?: boolean;
  /** Allow glob characters through unchanged (for compiling patterns). */
  pattern?: boolean;
}

/** Strip a `fs://` or `file://` scheme; undefined when another scheme is used. */
function stripScheme(uri: string): string | undefined {
  if (uri.startsWith("/")) return uri;
  const lower = uri.slice(0, 8).toLowerCase();
  if (lower.startsWith("fs://")) {
    const rest = uri.slice(5);
    return rest.startsWith("/") ? rest : `/${rest}`;
  }
  if (lower.startsWith("file://")) {
    const rest = uri.slice(7);
    if (rest.startsWith("/")) return rest;
    if (rest.toLowerCase().startsWith("localhost/")) return rest.slice(9);
    return undefined;
  }
  return undefined;
}

export function canonicalizePath(uri: unknown, opts: PathOptions = {}): Canon {
  if (typeof uri !== "string") return fail("path must be a string");
  if (!opts.caseInsensitive && FAST_PATH.test(uri)) return { ok: true, value: uri };
  if (uri.length === 0) return fail("path is empty");
  if (CONTROL.test(uri)) return fail("path contains a NUL or control character");
  let path = stripScheme(uri);
  if (path === undefined) {
    return fail(
      `"${uri.slice(0, 80)}" is not an absolute path or fs:// / file:/// URI (relative paths and other schemes are refused)`,
    );
  }
  if (path.includes("%")) {
    if (BAD_ENCODED.test(path)) {
      return fail(
        "path percent-encodes a separator, dot, percent or control character (refused: it could name another path)",
      );
    }
    if (ENCODED.test(path)) {
      try {
        path = decodeURIComponent(path);
      } catch {
        return fail("path has invalid percent-encoding or invalid UTF-8");
      }
    }
  }
  if (BAD_CHAR.test(path)) return fail("path contains a control or invisible character");
  path = path.normalize("NFC");
  if (opts.caseInsensitive) path = path.toLowerCase();
  return { ok: true, value: normalizeSegments(path.replace(/\\/g, "/")) };
}

/** Resolve `.`, `..`, repeated and trailing slashes of an absolute path. */
export function normalizeSegments(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}
