import { type Canon, fail } from "./result.js";

/**
 * Paths: one absolute POSIX form. Accepts a plain absolute path, `fs:///abs`, `fs://abs`
 * (read as `/abs`) and `file:///abs`. Steps, in order:
 * 1. refuse NUL and other control characters;
 * 2. percent-decode once; an encoded `/`, `\`, `.`, `%` or control character is refused (so
 *    double encoding and encoded separators cannot change what the path names);
 * 3. refuse invalid UTF-8 and invisible/format characters; NFC-normalise;
 * 4. a backslash is refused: on POSIX it is an ordinary filename character (`public\x/..` is
 *    the parent of `public\x`), on Windows and in `file:` URLs read by `new URL` a separator,
 *    so the same string names different files depending on who reads it;
 * 5. repeated slashes collapse; `.` segments go; `..` removes the previous segment and stops
 *    at the root (as the kernel does: `/../etc` is `/etc`); a trailing slash goes;
 * 6. on case-insensitive targets, lower-case.
 * Symlinks are not resolved here (no I/O): callers resolve them at the host boundary with
 * `resolveRealPath` before asking.
 */
/** Already canonical (no `.`/`..`/empty segments, no trailing slash): returned as is. */
const FAST_PATH = /^(?:\/[A-Za-z0-9_\-+=,@~][A-Za-z0-9_\-+=,@~.]*)+$|^\/$/;
const ENCODED = /%[0-9A-Fa-f]{2}/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const BAD_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffe\uffff]/u;
const BAD_ENCODED = /%(?:2[eEfF5]|5[cC]|[01][0-9A-Fa-f]|7[fF])/;

export interface PathOptions {
  /** Lower-case the path (targets that ignore case: macOS, Windows). */
  caseInsensitive?: boolean;
}

/**
 * Where the absolute path starts in a plain path, `fs://` or `file://` URI; -1 for other
 * schemes and relative paths. (`fs://abs` starts at `abs`: segments are read the same way.)
 */
function pathStart(uri: string): number {
  const c = uri.charCodeAt(0);
  if (c === 47) return 0;
  // "fs://" and "file://" in any case (`| 0x20` lower-cases an ASCII letter), "fs://" by char
  // code: storage checks meet it on every call.
  if ((c | 0x20) !== 102) return -1; // not "f" / "F"
  const fs = (uri.charCodeAt(1) | 0x20) === 115 && uri.charCodeAt(2) === 58;
  if (fs && uri.charCodeAt(3) === 47 && uri.charCodeAt(4) === 47) return 5;
  if (uri.slice(1, 7).toLowerCase() === "ile://") {
    if (uri.charCodeAt(7) === 47) return 7;
    if (uri.slice(7, 17).toLowerCase() === "localhost/") return 16;
  }
  return -1;
}

/**
 * `canonicalPathCodes`' stack: where each kept segment starts in `PATH_CODES` (for `..`). One
 * buffer for the module (checks are synchronous); paths with more segments take the full lane.
 */
const SEGS = new Int32Array(256);

/** Where `canonicalPathCodes` writes (checks are synchronous: one buffer for the module). */
export const PATH_CODES = new Uint16Array(4096);

/** Value of an ASCII hex digit, or a negative number. */
function hexValue(c: number): number {
  if (c <= 57) return c - 48; // "0" to "9"; below "0", negative
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The canonical form of a path that is printable ASCII with at most `%XX` escapes of printable
 * ASCII other than `%`, `.`, `/` and `\\` (decoded here exactly as the full lane decodes them),
 * as UTF-16 code units in `PATH_CODES`, no string built: its length; -2 when `uri` is canonical
 * as written (use it); -1 for everything else (the full lane decides, with the same result or
 * its reasons to refuse). Case is kept: callers lower-case for case-insensitive targets.
 * One pass over the input both checks the characters and resolves the segments.
 */
export function canonicalPathCodes(uri: string): number {
  if (FAST_PATH.test(uri)) return -2;
  const n = uri.length;
  const from = pathStart(uri); // -1 for "" too
  // The result is at most one code unit longer than the input (a `/` before `fs://abs`;
  // decoding only shortens): no bound check per character.
  if (from < 0 || n - from + 1 > PATH_CODES.length) return -1;
  const out = PATH_CODES;
  let w = 0;
  let top = 0; // kept segments; SEGS[k] is where the k-th starts in `out` (for `..`)
  let i = from;
  while (i < n) {
    if (uri.charCodeAt(i) === 47) {
      i++;
      continue;
    }
    const mark = w;
    out[w++] = 47;
    for (; i < n; i++) {
      let c = uri.charCodeAt(i);
      if (c === 47) break;
      if (c === 37) {
        // `%XX` decoded once, as the full lane does, and checked below like any character.
        // Negative when either is not a hex digit (a bare `%`): an encoded `.` or `/` could
        // change what the path names: both are the full lane's to keep or refuse.
        c = (hexValue(uri.charCodeAt(i + 1)) << 4) | hexValue(uri.charCodeAt(i + 2));
        if (c === 46 || c === 47) return -1;
        i += 2;
      }
      if (c < 0x20 || c > 0x7e || c === 37 || c === 92) return -1;
      out[w++] = c;
    }
    const len = w - mark - 1;
    if (len === 1 && out[mark + 1] === 46) w = mark;
    else if (len === 2 && out[mark + 1] === 46 && out[mark + 2] === 46) {
      w = top > 0 ? SEGS[--top]! : mark;
    } else {
      if (top === SEGS.length) return -1;
      SEGS[top++] = mark;
    }
  }
  if (w === 0) out[w++] = 47;
  return w;
}

/** The string of the canonical path `canonicalPathCodes` wrote: `PATH_CODES[0..n)`. */
function codesString(n: number): string {
  return String.fromCharCode.apply(null, PATH_CODES.subarray(0, n) as unknown as number[]);
}

export function canonicalizePath(uri: unknown, opts?: PathOptions): Canon {
  if (typeof uri !== "string") return fail("path must be a string");
  const v = canonicalPathOf(uri, opts?.caseInsensitive === true);
  return v === undefined ? fail(pathRefusal) : { ok: true, value: v };
}

/** Why the last `canonicalPathOf` returned undefined. */
export let pathRefusal = "";

/**
 * `canonicalizePath` for the matchers: the canonical path, or undefined with the reason in
 * `pathRefusal` (no result object per check).
 */
export function canonicalPathOf(uri: string, ci: boolean): string | undefined {
  // Canonical as written, or printable ASCII with segments to resolve and escapes to decode:
  // the code-unit route gives the same path as the full lane, faster.
  const n = canonicalPathCodes(uri);
  if (n !== -1) {
    const v = n === -2 ? uri : codesString(n);
    return ci ? v.toLowerCase() : v;
  }
  if (uri.length === 0) {
    pathRefusal = "path is empty";
    return undefined;
  }
  const from = pathStart(uri);
  if (from < 0) {
    pathRefusal = CONTROL.test(uri)
      ? "path contains a NUL or control character"
      : `"${uri.slice(0, 80)}" is not an absolute path or fs:// / file:/// URI (relative paths and other schemes are refused)`;
    return undefined;
  }
  const full = fullLane(uri, from, ci);
  if (full.ok) return full.value;
  pathRefusal = full.reason;
  return undefined;
}

const BACKSLASH =
  'path contains a backslash (refused: on POSIX it is part of a file name, so "a\\b/.." is the parent of "a\\b", while Windows and file: URLs read it as a separator)';

/**
 * The full lane (any input; also the reference the code-unit route is tested against):
 * refuses controls, encoded separators, dots, percents and controls, invalid UTF-8, invisible
 * characters and backslashes; decodes once, NFC-normalises, lower-cases on case-insensitive
 * targets and resolves the segments.
 */
export function fullLane(uri: string, from: number, ci: boolean): Canon {
  let path = `/${uri.slice(from)}`;
  if (CONTROL.test(path)) return fail("path contains a NUL or control character");
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
  if (BAD_CHAR.test(path)) return fail("path contains a control or invisible character");
  if (path.includes("\\")) return fail(BACKSLASH);
  path = path.normalize("NFC");
  if (ci) path = path.toLowerCase();
  return { ok: true, value: normalizeSegments(path) };
}

/** Resolve `.`, `..`, repeated and trailing slashes of an absolute path. */
export function normalizeSegments(path: string): string {
  let out = "";
  const n = path.length;
  let i = 0;
  while (i < n) {
    while (path.charCodeAt(i) === 47) i++; // past the end, NaN
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
