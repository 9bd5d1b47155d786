// The one-pass header reader against the parser it replaced (its field-line logic kept here as
// the oracle): on thousands of generated request heads, both accept exactly the same ones, read
// them to the same headers, and refuse the rest with the same status. Generated heads mix known
// and unknown names in any case, duplicates, OWS, tabs, colons in values, NUL, bare CR and LF,
// obs-folds, non-ASCII, empty names and values, and Content-Length in good and bad shapes.
import { describe, expect, it } from "vitest";
import { newHeaders, readFieldsLenient } from "../../src/mcp/http-fields.js";
import { parseHead } from "../../src/mcp/lean-http-server.js";

const FIELDS = /^(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\0\r\n]*(?:\r\n|$))*$/;
const DIGITS = /^\d{1,15}$/;
const isOws = (c: number) => c === 32 || c === 9;

/** The field-line part of the previous parser (2026-12-01, b961443): status, or headers. */
function oracle(text: string): { status: number } | { headers: Record<string, string> } {
  const eol0 = text.indexOf("\r\n");
  const eol = eol0 < 0 ? text.length : eol0;
  const headers: Record<string, string> = {};
  let hosts = 0;
  if (eol < text.length && !FIELDS.test(text.slice(eol + 2))) return { status: 400 };
  // A head whose last line is empty (it ends in CRLF: the server never cuts one so, but
  // parseHead is exported): the previous parser read it as a header named "" holding the whole
  // head; the new reader refuses it. This test found that.
  if (eol < text.length && text.endsWith("\r\n")) return { status: 400 };
  let at = eol;
  while (at < text.length) {
    const next = text.indexOf("\r\n", at + 2);
    const stop = next < 0 ? text.length : next;
    const c = text.indexOf(":", at + 2);
    let v0 = c + 1;
    let v1 = stop;
    while (v0 < v1 && isOws(text.charCodeAt(v0))) v0++;
    while (v1 > v0 && isOws(text.charCodeAt(v1 - 1))) v1--;
    const value = text.slice(v0, v1);
    const k = text.slice(at + 2, c).toLowerCase();
    const old = Object.hasOwn(headers, k) ? headers[k] : undefined;
    if (k === "host" && ++hosts > 1) return { status: 400 };
    if (k === "content-length") {
      if (!DIGITS.test(value)) return { status: 400 };
      if (old !== undefined && old !== value) return { status: 400 };
      Object.defineProperty(headers, k, { value, enumerable: true, writable: true });
    } else
      Object.defineProperty(headers, k, {
        value: old === undefined ? value : `${old}, ${value}`,
        enumerable: true,
        writable: true,
      });
    at = stop;
  }
  if (hosts === 0) return { status: 400 };
  return { headers };
}

/** A small deterministic generator (mulberry32), so a failure names a reproducible seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  "Host",
  "host",
  "HOST",
  "Content-Length",
  "content-length",
  "Accept",
  "mcp-session-id",
  "Mcp-Session-Id",
  "MCP-PROTOCOL-VERSION",
  "x-odd",
  "X-Odd",
  "__proto__",
  "constructor",
  "toString",
  "Keep-Alive",
  "expect",
];
const NAME_CHARS = ["a", "Z", "-", "_", "9", "!", "~", " ", "\t", "é", "\0", "(", "/"];
const VALUE_CHARS = ["a", "1", " ", "\t", ":", ",", "é", "\0", "\r", "\n", "x", "9", "\u00a0"];

function head(r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const lines: string[] = [];
  const n = Math.floor(r() * 7);
  for (let i = 0; i < n; i++) {
    let name = r() < 0.7 ? pick(NAMES) : "";
    if (name === "" || r() < 0.15)
      for (let j = Math.floor(r() * 4); j > 0; j--) name += pick(NAME_CHARS);
    let value = "";
    if (name.toLowerCase() === "content-length" && r() < 0.7)
      value = r() < 0.8 ? String(Math.floor(r() * 3)) : "1x";
    else for (let j = Math.floor(r() * 6); j > 0; j--) value += pick(VALUE_CHARS);
    const sep = r() < 0.9 ? ":" : r() < 0.5 ? " :" : "";
    const ows = pick(["", " ", "  ", "\t"]);
    let line = `${name}${sep}${ows}${value}${pick(["", "", " ", "\t"])}`;
    if (r() < 0.03) line = ` folded${line}`;
    lines.push(line);
  }
  if (r() < 0.8 && !lines.some((l) => /^host:/i.test(l))) lines.splice(0, 0, "Host: a");
  return ["POST /mcp HTTP/1.1", ...lines].join("\r\n");
}

describe("the one-pass header reader", () => {
  it("accepts, reads and refuses exactly as the previous parser on 20,000 generated heads", () => {
    let accepted = 0;
    for (let seed = 1; seed <= 20_000; seed++) {
      const text = head(rng(seed));
      // a generated head may hold CRLFCRLF: the server cuts the head there, so do the same
      const cut = text.indexOf("\r\n\r\n");
      const h = cut < 0 ? text : text.slice(0, cut);
      const want = oracle(h);
      const got = parseHead(h);
      if ("status" in want) {
        expect({ seed, status: "status" in got ? got.status : 200 }).toEqual({
          seed,
          status: want.status,
        });
      } else {
        expect({ seed, got: "why" in got ? got.why : { ...got.headers } }).toEqual({
          seed,
          got: want.headers,
        });
        accepted++;
      }
    }
    // the generator must exercise both sides
    expect(accepted).toBeGreaterThan(3000);
    expect(accepted).toBeLessThan(17_000);
  });

  it("reads upstream answer heads leniently: odd lines skipped, names trimmed and lower-cased", () => {
    const out = newHeaders();
    readFieldsLenient(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nno colon here\r\n X-Spaced : v \r\nMcp-Session-Id:s-9\r\nset-cookie: a\r\nSet-Cookie: b",
      15,
      out,
    );
    expect({ ...out }).toEqual({
      "content-type": "application/json",
      "x-spaced": "v",
      "mcp-session-id": "s-9",
      "set-cookie": "a, b",
    });
  });
});
