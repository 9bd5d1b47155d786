/**
 * UTF-8 for short strings in plain JS: for the ~100-byte documents plugins usually get, a loop is
 * several times faster than TextEncoder (a C++ call), and it writes straight into guest memory.
 * Lone surrogates become U+FFFD, as TextEncoder does. Long strings go to the native encoder.
 */
const LONG = 2048;
const encoder = new TextEncoder();

export function utf8Length(s: string): number {
  if (s.length > LONG) return Buffer.byteLength(s, "utf8");
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Write `s` as UTF-8 at `out[at]`; `len` is utf8Length(s) and must fit. */
export function writeUtf8(s: string, out: Uint8Array, at: number, len: number): void {
  if (s.length > LONG) {
    encoder.encodeInto(s, out.subarray(at, at + len));
    return;
  }
  let j = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
      continue;
    }
    if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[j++] = 0xf0 | (c >> 18);
        out[j++] = 0x80 | ((c >> 12) & 0x3f);
        out[j++] = 0x80 | ((c >> 6) & 0x3f);
        out[j++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[j++] = 0xe0 | (c >> 12);
    out[j++] = 0x80 | ((c >> 6) & 0x3f);
    out[j++] = 0x80 | (c & 0x3f);
  }
}
