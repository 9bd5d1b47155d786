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
  if ((c | 0x20) !== 102) return -1; // not "f" / "F": no fs:// or file://
  // "fs://" and "file://" in lower case (the common spelling), compared by char code.
  if (uri.charCodeAt(1) === 115 && uri.charCodeAt(2) === 58 && isSlashSlash(uri, 3)) return 5;
  if (uri.slice(0, 5).toLowerCase() === "fs://") return 5;
  if (uri.startsWith("file://") || uri.slice(0, 7).toLowerCase() === "file://") {
    if (uri.charCodeAt(7) === 47) return 7;
    if (uri.slice(7, 17).toLowerCase() === "localhost/") return 16;
  }
  return -1;
}

function isSlashSlash(uri: string, i: number): boolean {
  return uri.charCodeAt(i) === 47 && uri.charCodeAt(i + 1) === 47;
}

/**
 * Segments kept by the ASCII lane, 3 slots each: where the separator before the segment is,
 * where the segment ends, and 1 when it must be rebuilt (a `%XX` inside).
 * One buffer for the module (checks are synchronous); longer paths take the full lane.
 */
const MAX_SEGMENTS = 128;
const SEGS = new Int32Array(MAX_SEGMENTS * 3);

/** Value of an ASCII hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * The code an ASCII lane may decode `%XX` at `i` to, or -1 (full lane): printable ASCII other
 * than the refused `%`, `.`, `/` and `\\` (the full lane refuses those and decodes the rest
 * exactly like this; controls and non-ASCII bytes need its checks).
 */
function decodedAt(uri: string, i: number): number {
  const hi = hexValue(uri.charCodeAt(i + 1));
  const lo = hexValue(uri.charCodeAt(i + 2));
  if (hi < 0 || lo < 0) return -1;
  const c = (hi << 4) | lo;
  return c < 0x20 || c > 0x7e || c === 37 || c === 46 || c === 47 || c === 92 ? -1 : c;
}

/** Segment `[from, to)` with its `%XX` escapes decoded (all checked by `decodedAt`). */
function decodeSegment(uri: string, from: number, to: number): string {
  let out = "";
  let run = from;
  for (let i = from; i < to; i++) {
    if (uri.charCodeAt(i) !== 37) continue;
    out += uri.slice(run, i) + String.fromCharCode(decodedAt(uri, i));
    i += 2;
    run = i + 1;
  }
  return out + uri.slice(run, to);
}

/**
 * The ASCII lane: one pass over `uri` from `from` (no copy, no split, no RegExp) for printable
 * ASCII without `\\`, `%XX` of safe printable characters decoded; `.` and empty
 * segments are dropped and `..` pops, kept segments are recorded as offsets in `SEGS`, and the
 * result is sliced from the input in as few runs as possible (the input itself when nothing
 * changes). Returns undefined to take the full lane (which also gives the reasons to refuse).
 */
function asciiLane(uri: string, from: number): string | undefined {
  const n = uri.length;
  let top = 0; // segments on the stack
  let clean = uri.charCodeAt(from) === 47;
  let i = from;
  let sep = from - 1; // the separator before the current segment
  while (i < n) {
    let c = uri.charCodeAt(i);
    if (c === 47) {
      if (i === sep + 1 && i > from) clean = false;
      sep = i++;
      continue;
    }
    const start = i;
    let rebuild = 0;
    while (true) {
      if (c < 0x20 || c > 0x7e || c === 92) return undefined;
      if (c === 37) {
        if (decodedAt(uri, i) < 0) return undefined;
        rebuild = 1;
        i += 2;
      }
      if (++i >= n) break;
      c = uri.charCodeAt(i);
      if (c === 47) break;
    }
    const len = i - start;
    if (
      uri.charCodeAt(start) === 46 &&
      (len === 1 || (len === 2 && uri.charCodeAt(start + 1) === 46))
    ) {
      clean = false;
      if (len === 2 && top > 0) top--;
      continue;
    }
    if (top === MAX_SEGMENTS) return undefined;
    const k = top++ * 3;
    SEGS[k] = sep;
    SEGS[k + 1] = i;
    SEGS[k + 2] = rebuild;
    if (rebuild === 1) clean = false;
  }
  if (top === 0) return "/";
  if (clean && sep !== n - 1) return from === 0 ? uri : uri.slice(from);
  return joinSegments(uri, top);
}

/**
 * The plain lane: printable ASCII without `%` and `\\`, so only `.`, `..` and empty segments
 * to resolve. One char-code loop both checks the characters and finds the separators (measured
 * faster here than a RegExp check plus `indexOf`); kept segments are recorded as offsets in
 * `SEGS` and joined by `joinSegments`. Undefined at the first other character: the ASCII lane
 * (escapes, backslashes) or the full lane takes it.
 */
function plainLane(uri: string, from: number): string | undefined {
  const top = plainSegments(uri, from);
  return top < 0 ? undefined : top === 0 ? "/" : joinSegments(uri, top);
}

/** The plain lane's pass: the kept segments into `SEGS`, their count, or -1 (another lane). */
function plainSegments(uri: string, from: number): number {
  const n = uri.length;
  let top = 0;
  let sep = uri.charCodeAt(from) === 47 ? from : from - 1;
  while (sep < n) {
    const start = sep + 1;
    let end = start;
    for (; end < n; end++) {
      const c = uri.charCodeAt(end);
      if (c === 47) break;
      if (c < 0x20 || c > 0x7e || c === 37 || c === 92) return -1;
    }
    const len = end - start;
    if (len === 0 || (len === 1 && uri.charCodeAt(start) === 46)) {
      // empty or "." : nothing
    } else if (len === 2 && uri.charCodeAt(start) === 46 && uri.charCodeAt(start + 1) === 46) {
      if (top > 0) top--;
    } else {
      if (top === MAX_SEGMENTS) return -1;
      const k = top++ * 3;
      SEGS[k] = sep;
      SEGS[k + 1] = end;
      SEGS[k + 2] = 0;
    }
    sep = end;
  }
  return top;
}

/** Where `canonicalPathCodes` writes (checks are synchronous: one buffer for the module). */
export const PATH_CODES = new Uint16Array(4096);

/**
 * The canonical form of a path the plain lane resolves (printable ASCII, no `%` or `\\`, on a
 * case-sensitive target) as UTF-16 code units in `PATH_CODES`, no string built: its length;
 * -2 when `uri` is canonical as written (use it); -1 for everything else (`canonicalPathOf`
 * decides, with the same result and its reasons).
 */
export function canonicalPathCodes(uri: string): number {
  if (FAST_PATH.test(uri)) return -2;
  const n = uri.length;
  if (n === 0) return -1;
  const from = pathStart(uri);
  // The result is at most one code unit longer than the input: no bound check per character.
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
      const c = uri.charCodeAt(i);
      if (c === 47) break;
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

/** Join the `top` kept segments in `SEGS`, slicing each run that is contiguous in `uri`. */
function joinSegments(uri: string, top: number): string {
  let out = "";
  let runStart = SEGS[0]!;
  let runEnd = runStart;
  for (let k = 0; k < top * 3; k += 3) {
    const s = SEGS[k]!;
    const e = SEGS[k + 1]!;
    if (SEGS[k + 2] === 1) {
      out += `${uri.slice(runStart, runEnd)}/${decodeSegment(uri, s + 1, e)}`;
      runStart = runEnd = e;
    } else if (s === runEnd) runEnd = e;
    else {
      out += uri.slice(runStart, runEnd);
      runStart = s;
      runEnd = e;
    }
  }
  return out + uri.slice(runStart, runEnd);
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
  if (!ci && FAST_PATH.test(uri)) return uri;
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
  const fast = plainLane(uri, from) ?? asciiLane(uri, from);
  if (fast !== undefined) return ci ? fast.toLowerCase() : fast;
  const full = fullLane(uri, from, ci);
  if (full.ok) return full.value;
  pathRefusal = full.reason;
  return undefined;
}

/**
 * The full lane (any input; also the reference the ASCII lane is tested against): refuses
 * controls, encoded separators, dots, percents and controls, invalid UTF-8, invisible
 * characters and backslashes; decodes once, NFC-normalises, lower-cases on case-insensitive
 * targets and resolves the segments.
 */
const BACKSLASH =
  'path contains a backslash (refused: on POSIX it is part of a file name, so "a\\b/.." is the parent of "a\\b", while Windows and file: URLs read it as a separator)';

export function fullLane(uri: string, from: number, ci: boolean): Canon {
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
