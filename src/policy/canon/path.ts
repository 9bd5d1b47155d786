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
}

/** Strip a `fs://` or `file://` scheme; undefined when another scheme is used. */
/**
 * Where the absolute path starts in a plain path, `fs://` or `file://` URI; -1 for other
 * schemes and relative paths. (`fs://abs` starts at `abs`: segments are read the same way.)
 */
function pathStart(uri: string): number {
  if (uri.charCodeAt(0) === 47) return 0;
  if (uri.startsWith("fs://") || uri.slice(0, 5).toLowerCase() === "fs://") return 5;
  if (uri.startsWith("file://") || uri.slice(0, 7).toLowerCase() === "file://") {
    if (uri.charCodeAt(7) === 47) return 7;
    if (uri.slice(7, 17).toLowerCase() === "localhost/") return 16;
  }
  return -1;
}

/**
 * The ASCII lane: printable ASCII without `%` and `\\` needs no decoding and no Unicode
 * checks, only segment normalization, done here in one pass over `uri` from `from` (no copy
 * of the path first). Returns the canonical path, or undefined to take the full lane.
 */
function asciiLane(uri: string, from: number): string | undefined {
  const n = uri.length;
  let out = "";
  let i = from;
  while (i < n) {
    let c = uri.charCodeAt(i);
    while (c === 47) c = ++i < n ? uri.charCodeAt(i) : -1;
    if (i >= n) break;
    const start = i;
    while (c !== 47) {
      if (c < 0x20 || c > 0x7e || c === 37 || c === 92) return undefined;
      c = ++i < n ? uri.charCodeAt(i) : 47;
    }
    const len = i - start;
    if (len === 1 && uri.charCodeAt(start) === 46) continue;
    if (len === 2 && uri.charCodeAt(start) === 46 && uri.charCodeAt(start + 1) === 46) {
      out = out.slice(0, Math.max(0, out.lastIndexOf("/")));
      continue;
    }
    out += `/${uri.slice(start, i)}`;
  }
  // Only removals happen, so an output as long as the input (from a "/") is the input.
  if (out.length === n - from && uri.charCodeAt(from) === 47)
    return from === 0 ? uri : uri.slice(from);
  return out === "" ? "/" : out;
}

export function canonicalizePath(uri: unknown, opts?: PathOptions): Canon {
  if (typeof uri !== "string") return fail("path must be a string");
  const ci = opts?.caseInsensitive === true;
  if (!ci && FAST_PATH.test(uri)) return { ok: true, value: uri };
  if (uri.length === 0) return fail("path is empty");
  const from = pathStart(uri);
  if (from < 0) {
    if (CONTROL.test(uri)) return fail("path contains a NUL or control character");
    return fail(
      `"${uri.slice(0, 80)}" is not an absolute path or fs:// / file:/// URI (relative paths and other schemes are refused)`,
    );
  }
  const fast = asciiLane(uri, from);
  if (fast !== undefined) return { ok: true, value: ci ? fast.toLowerCase() : fast };
  let path = `/${uri.slice(from)}`;
  if (CONTROL.test(path)) return fail("path contains a NUL or control character");
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
  if (ci) path = path.toLowerCase();
  return { ok: true, value: normalizeSegments(path.replace(/\\/g, "/")) };
}

/** Resolve `.`, `..`, repeated and trailing slashes of an absolute path. */
export function normalizeSegments(path: string): string {
  let out = "";
  const n = path.length;
  let i = 0;
  while (i < n) {
    while (i < n && path.charCodeAt(i) === 47) i++;
    let j = i;
    while (j < n && path.charCodeAt(j) !== 47) j++;
    const len = j - i;
    if (len === 1 && path.charCodeAt(i) === 46) {
      // "." : nothing
    } else if (len === 2 && path.charCodeAt(i) === 46 && path.charCodeAt(i + 1) === 46) {
      out = out.slice(0, Math.max(0, out.lastIndexOf("/")));
    } else if (len > 0) {
      out += `/${path.slice(i, j)}`;
    }
    i = j;
  }
  return out === "" ? "/" : out;
}
