/**
 * HTTP/1.1 header field lines read in one pass over the head's characters, for both the lean
 * server (strict: RFC 9112 field syntax, or the request is refused) and the upstream client
 * (lenient: lines it cannot read are skipped, as before).
 *
 * Why not split, slice and lower-case each line: on the project's VM that cost 7 to 9 µs per
 * request head of seven fields (two string slices and a `toLowerCase` per line, then stores
 * into a dictionary-mode `Object.create(null)` object under fresh, uninternalized keys), the
 * biggest single item of the gateway's own JavaScript per HTTP call. Here a name is checked,
 * folded and hashed while it is read; a name the gateway knows (`KNOWN`) is stored under its
 * constant string (no slice, no lower-casing), and the object has a frozen null-prototype
 * parent instead of none, so it stays a fast object and `__proto__` or `constructor` are plain
 * names. Only values are sliced.
 */

/** The field names read by the gateway or commonly sent: stored under these constants. */
const KNOWN = [
  "host",
  "accept",
  "accept-encoding",
  "accept-language",
  "authorization",
  "cache-control",
  "connection",
  "content-length",
  "content-type",
  "date",
  "expect",
  "keep-alive",
  "last-event-id",
  "mcp-protocol-version",
  "mcp-session-id",
  "origin",
  "server",
  "transfer-encoding",
  "user-agent",
  "vary",
  "x-accel-buffering",
  "sec-fetch-mode",
  "referer",
  "pragma",
];

const SEED = 0x811c9dc5 | 0;
const BITS = 9;
const MASK = (1 << BITS) - 1;

function step(h: number, c: number): number {
  return Math.imul(h ^ c, 16777619);
}

/** tchar (RFC 9110 §5.6.2) by code unit below 128. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;

/** Known names by hash slot (chains: a slot holds every name hashing there). */
const TABLE: (readonly string[] | undefined)[] = new Array(MASK + 1).fill(undefined);
for (const name of KNOWN) {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = step(h, name.charCodeAt(i));
  const slot = h & MASK;
  TABLE[slot] = [...(TABLE[slot] ?? []), name];
}

/** A header object: fast properties, no inherited names (`__proto__` is a plain key). */
const NO_PARENT = Object.freeze(Object.create(null) as object);
export function newHeaders(): Record<string, string> {
  return Object.create(NO_PARENT) as Record<string, string>;
}

/** The known constant for `text[from, to)` whose lower-cased hash is `h`, else undefined. */
function known(text: string, from: number, to: number, h: number): string | undefined {
  const list = TABLE[h & MASK];
  if (list === undefined) return undefined;
  const n = to - from;
  for (let k = 0; k < list.length; k++) {
    const name = list[k]!;
    if (name.length !== n) continue;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(from + i);
      if (((c - 65) >>> 0 < 26 ? c | 0x20 : c) !== name.charCodeAt(i)) break;
    }
    if (i === n) return name;
  }
  return undefined;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/** Why strict field lines were refused (see `readFieldsStrict`). */
export const FieldError = {
  Malformed: 1,
  TwoHosts: 2,
  BadLength: 3,
  TwoLengths: 4,
} as const;
export type FieldError = (typeof FieldError)[keyof typeof FieldError];

/**
 * Strict field lines of a request head: `text` from `at` (the CRLF ending the request line)
 * to its end (the head without its final CRLFCRLF). Each line must be `token ":" value`, no
 * space before the colon, no obs-fold, no CR, LF or NUL in the value; repeated fields are
 * joined with ", ", except Host (one at most) and Content-Length (digits only; repeats must
 * agree). Fills `out` (names lower-cased); returns 0, or why it refused.
 */
export function readFieldsStrict(
  text: string,
  at: number,
  out: Record<string, string>,
): 0 | FieldError {
  const n = text.length;
  if (at >= n) return 0;
  let p = at + 2;
  for (;;) {
    // the name: tchar up to the colon, folded and hashed on the way
    let h = SEED;
    let i = p;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 58) break;
      if (c >= 128 || TOKEN[c] === 0) return FieldError.Malformed;
      h = step(h, (c - 65) >>> 0 < 26 ? c | 0x20 : c);
    }
    if (i === p || i === n) return FieldError.Malformed;
    const nameEnd = i;
    i++;
    // the value: no NUL, CR or LF inside; the line ends at CRLF or the end of the head
    while (i < n && isOws(text.charCodeAt(i))) i++;
    const v0 = i;
    let stop = n;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 13) {
        if (text.charCodeAt(i + 1) !== 10) return FieldError.Malformed;
        stop = i;
        break;
      }
      if (c === 10 || c === 0) return FieldError.Malformed;
    }
    let v1 = stop;
    while (v1 > v0 && isOws(text.charCodeAt(v1 - 1))) v1--;
    const value = text.slice(v0, v1);
    const name = known(text, p, nameEnd, h) ?? text.slice(p, nameEnd).toLowerCase();
    const old = out[name];
    if (name === "host") {
      if (old !== undefined) return FieldError.TwoHosts;
      out[name] = value;
    } else if (name === "content-length") {
      if (!isDigits(value)) return FieldError.BadLength;
      if (old !== undefined && old !== value) return FieldError.TwoLengths;
      out[name] = value;
    } else out[name] = old === undefined ? value : `${old}, ${value}`;
    if (stop === n) break;
    p = stop + 2;
  }
  return 0;
}

/** 1 to 15 decimal digits. */
function isDigits(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 15) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Lenient field lines of a response head, from `at` (a CRLF) on: a line without a colon is
 * skipped; names are trimmed and lower-cased, values trimmed; repeats joined with ", ".
 */
export function readFieldsLenient(text: string, at: number, out: Record<string, string>): void {
  const n = text.length;
  while (at >= 0 && at < n) {
    const p = at + 2;
    const next = text.indexOf("\r\n", p);
    const stop = next < 0 ? n : next;
    let h = SEED;
    let i = p;
    let plain = true;
    for (; i < stop; i++) {
      const c = text.charCodeAt(i);
      if (c === 58) break;
      if (c >= 128 || TOKEN[c] === 0) plain = false;
      h = step(h, (c - 65) >>> 0 < 26 ? c | 0x20 : c);
    }
    if (i > p && i < stop) {
      const name = plain
        ? (known(text, p, i, h) ?? text.slice(p, i).toLowerCase())
        : text.slice(p, i).trim().toLowerCase();
      let v0 = i + 1;
      let v1 = stop;
      while (v0 < v1 && isOws(text.charCodeAt(v0))) v0++;
      while (v1 > v0 && isOws(text.charCodeAt(v1 - 1))) v1--;
      const v = text.slice(v0, v1);
      const old = out[name];
      out[name] = old === undefined ? v : `${old}, ${v}`;
    }
    at = next;
  }
}
