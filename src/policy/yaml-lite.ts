/**
 * A small reader for the YAML that policies are written in: about 0.5 ms on the 500-rule bench
 * policy where the `yaml` package's parseDocument takes 7 to 8 ms (see docs/policy.md). It reads block
 * mappings and sequences, one-line flow `[...]` / `{...}`, plain, single- and double-quoted
 * one-line scalars and comments, resolves plain scalars by the YAML 1.2 core schema exactly as
 * the `yaml` package does by default, and records where each key and value starts (the same
 * offsets the `yaml` package's nodes have), for file:line:col errors.
 *
 * Anything else returns undefined and the caller uses the `yaml` package, which then also
 * reports every syntax error: anchors, aliases, tags, block scalars (`|`, `>`), multi-line
 * scalars and flow collections, explicit or complex keys, non-string keys, duplicate keys,
 * `---` / `...` / directives, tabs, CR, a BOM, and anything odd. test/policy/yaml-lite.test.ts
 * checks values and positions against the `yaml` package.
 */
import { MAX_INDEXED, Positions, packOffsets } from "./positions.js";

/** Thrown inside the reader to give up; never escapes `readYamlLite`. */
class Unsupported extends Error {}
const GIVE_UP = new Unsupported("outside the subset");

function giveUp(): never {
  throw GIVE_UP;
}

const SP = 32;
const NL = 10;
const HASH = 35;
const COLON = 58;
const DASH = 45;

/** Plain scalars by the YAML 1.2 core schema, in the `yaml` package's order of tests. */
const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCT_RE = /^0o[0-7]+$/;
const INT_RE = /^[-+]?[0-9]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/**
 * Every non-string form of the core schema starts with one of `~ n N t T f F 0-9 + - .`:
 * a plain scalar starting with another letter, `/` or `_` is a string without any test.
 */
const SURE_STRING = /^[a-eg-mo-su-zA-EG-MO-SU-Z_/]/;

export function resolvePlain(s: string): unknown {
  if (SURE_STRING.test(s)) return s;
  const c = s.charCodeAt(0);
  if (NULL_RE.test(s)) return null;
  if (BOOL_RE.test(s)) return c === 116 || c === 84;
  if (OCT_RE.test(s)) return Number.parseInt(s.substring(2), 8);
  if (INT_RE.test(s)) return Number.parseInt(s, 10);
  if (HEX_RE.test(s)) return Number.parseInt(s.substring(2), 16);
  if (NAN_RE.test(s))
    return s.slice(-3).toLowerCase() === "nan"
      ? Number.NaN
      : s[0] === "-"
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  if (EXP_RE.test(s) || FLOAT_RE.test(s)) return Number.parseFloat(s);
  return s;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

interface Scalar {
  value: unknown;
  /** The scalar resolves to a string (a quoted scalar, or a plain one the schema leaves as is). */
  isString: boolean;
}

class Reader {
  readonly t: string;
  readonly n: number;
  i = 0;
  readonly positions = new Positions();
  /** Packed offsets of the node the last node reader returned (its parent records them). */
  at = 0;

  constructor(text: string) {
    this.t = text;
    this.n = text.length;
  }

  col(at: number): number {
    // Mostly only indentation lies between the line start and `at`: step back over it.
    let j = at;
    while (j > 0 && this.t.charCodeAt(j - 1) === SP) j--;
    if (j === 0 || this.t.charCodeAt(j - 1) === NL) return at - j;
    const nl = this.t.lastIndexOf("\n", j - 1);
    return at - nl - 1;
  }

  /** Skip spaces on this line. */
  spaces(): void {
    while (this.t.charCodeAt(this.i) === SP) this.i++;
  }

  /** After a node on a line: spaces, an optional comment, then the end of the line. */
  endOfLine(): void {
    this.spaces();
    const c = this.t.charCodeAt(this.i);
    if (c === HASH) {
      if (this.t.charCodeAt(this.i - 1) !== SP) giveUp(); // "#" right after content
      const nl = this.t.indexOf("\n", this.i);
      this.i = nl < 0 ? this.n : nl;
    }
    if (this.i < this.n && this.t.charCodeAt(this.i) !== NL) giveUp();
  }

  /**
   * Skip blank and comment lines from the start of a line (or the end of the previous one);
   * leaves `i` at the first content character and returns its column, or -1 at the end.
   */
  nextContent(): number {
    for (;;) {
      if (this.t.charCodeAt(this.i) === NL) this.i++;
      this.spaces();
      if (this.i >= this.n) return -1;
      const c = this.t.charCodeAt(this.i);
      if (c === NL) continue;
      if (c === HASH) {
        const nl = this.t.indexOf("\n", this.i);
        if (nl < 0) {
          this.i = this.n;
          return -1;
        }
        this.i = nl;
        continue;
      }
      const col = this.col(this.i);
      if (col === 0 && (this.t.startsWith("---", this.i) || this.t.startsWith("...", this.i)))
        giveUp();
      return col;
    }
  }

  /** A block node whose first character is at `i`, at column `col`. */
  block(col: number, keyAt: number): unknown {
    const c = this.t.charCodeAt(this.i);
    if (c === DASH && this.isSeparated(this.i + 1)) return this.blockSeq(col, keyAt);
    if (c === 91 || c === 123) {
      const v = this.flow(keyAt, 0);
      this.endOfLine();
      return v;
    }
    const start = this.i;
    const key = this.scalar(false);
    this.spaces();
    if (this.t.charCodeAt(this.i) === COLON && this.isSeparated(this.i + 1)) {
      this.i = start;
      return this.blockMap(col, keyAt);
    }
    this.at = packOffsets(keyAt < 0 ? start : keyAt, start);
    this.endOfLine();
    return key.value;
  }

  /** `:` or `-` at `at` is an indicator: followed by a space, a newline or the end. */
  isSeparated(at: number): boolean {
    const c = this.t.charCodeAt(at);
    return c === SP || c === NL || at >= this.n;
  }

  blockMap(col: number, keyAt: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const own = packOffsets(keyAt < 0 ? this.i : keyAt, this.i);
    const rec = this.positions.open(out);
    for (;;) {
      const kStart = this.i;
      const c = this.t.charCodeAt(kStart);
      if (c === DASH && this.isSeparated(kStart + 1)) giveUp();
      const key = this.scalar(false);
      if (!key.isString || typeof key.value !== "string") giveUp();
      const k = key.value;
      if (k === "__proto__" || k === "<<" || Object.hasOwn(out, k) || this.i - kStart > 1000)
        giveUp();
      this.spaces();
      if (this.t.charCodeAt(this.i) !== COLON || !this.isSeparated(this.i + 1)) giveUp();
      this.i++;
      out[k] = this.mapValue(col, kStart);
      rec.push(k, this.at);
      const next = this.nextContent();
      if (next < 0 || next < col) {
        this.at = own;
        return out;
      }
      if (next > col) giveUp();
    }
  }

  /** The value after `key:` (at `i`, just past the colon). */
  mapValue(col: number, kStart: number): unknown {
    this.spaces();
    const emptyAt = this.i;
    const c = this.t.charCodeAt(this.i);
    if (this.i >= this.n || c === NL || c === HASH) {
      this.endOfLine();
      const save = this.i;
      const next = this.nextContent();
      if (next > col) return this.block(next, kStart);
      if (next === col && this.t.charCodeAt(this.i) === DASH && this.isSeparated(this.i + 1))
        return this.blockSeq(col, kStart);
      this.i = save;
      this.at = packOffsets(kStart, emptyAt);
      return null;
    }
    if (c === DASH && this.isSeparated(this.i + 1)) giveUp(); // "key: - x"
    if (c === 91 || c === 123) {
      const v = this.flow(kStart, 0);
      this.endOfLine();
      return v;
    }
    const start = this.i;
    const s = this.scalar(false);
    this.at = packOffsets(kStart, start);
    this.endOfLine();
    return s.value;
  }

  blockSeq(col: number, keyAt: number): unknown[] {
    const out: unknown[] = [];
    const own = packOffsets(keyAt < 0 ? this.i : keyAt, this.i);
    const rec = this.positions.open(out);
    for (;;) {
      this.i++;
      this.spaces();
      const c = this.t.charCodeAt(this.i);
      if (this.i >= this.n || c === NL || c === HASH) {
        const emptyAt = this.i;
        this.endOfLine();
        const save = this.i;
        const next = this.nextContent();
        if (next > col) out.push(this.block(next, -1));
        else {
          this.i = save;
          this.at = packOffsets(emptyAt, emptyAt);
          out.push(null);
        }
      } else {
        if (c === DASH && this.isSeparated(this.i + 1)) giveUp(); // "- - x"
        out.push(this.block(this.col(this.i), -1));
      }
      rec.push(this.at);
      const next = this.nextContent();
      if (next < 0 || next < col) {
        this.at = own;
        return out;
      }
      if (next > col || this.t.charCodeAt(this.i) !== DASH || !this.isSeparated(this.i + 1))
        giveUp();
    }
  }

  /** A one-line flow collection at `i` (`[` or `{`). */
  flow(keyAt: number, depth: number): unknown {
    if (depth > 50) giveUp();
    const open = this.t.charCodeAt(this.i);
    const start = this.i;
    const own = packOffsets(keyAt < 0 ? start : keyAt, start);
    this.i++;
    const close = open === 91 ? 93 : 125;
    const seq: unknown[] = [];
    const map: Record<string, unknown> = {};
    const rec = this.positions.open(open === 91 ? seq : map);
    for (;;) {
      this.spaces();
      const c = this.t.charCodeAt(this.i);
      if (c === close) {
        this.i++;
        this.at = own;
        return open === 91 ? seq : map;
      }
      if (open === 91) {
        seq.push(this.flowItem(-1, depth));
        rec.push(this.at);
        this.spaces();
        if (this.t.charCodeAt(this.i) === COLON) giveUp(); // [a: b]
      } else {
        const kStart = this.i;
        const key = this.scalar(true);
        if (!key.isString || typeof key.value !== "string") giveUp();
        const k = key.value;
        if (k === "__proto__" || k === "<<" || Object.hasOwn(map, k)) giveUp();
        this.spaces();
        if (this.t.charCodeAt(this.i) !== COLON) giveUp(); // {a} or {a, b}
        this.i++;
        const d = this.t.charCodeAt(this.i);
        if (d !== SP) giveUp(); // "{a:b}" and "{a:}": leave to the yaml package
        this.spaces();
        const e = this.t.charCodeAt(this.i);
        if (e === 44 || e === close) giveUp(); // an empty value
        map[k] = this.flowItem(kStart, depth);
        rec.push(k, this.at);
      }
      this.spaces();
      const d = this.t.charCodeAt(this.i);
      if (d === 44) this.i++;
      else if (d !== close) giveUp();
    }
  }

  flowItem(keyAt: number, depth: number): unknown {
    const c = this.t.charCodeAt(this.i);
    if (c === 91 || c === 123) return this.flow(keyAt, depth + 1);
    const start = this.i;
    const s = this.scalar(true);
    this.at = packOffsets(keyAt < 0 ? start : keyAt, start);
    return s.value;
  }

  /** A one-line scalar at `i`: quoted, or plain (in flow context when `flow`). */
  scalar(flow: boolean): Scalar {
    const c = this.t.charCodeAt(this.i);
    if (c === 34) return { value: this.doubleQuoted(), isString: true };
    if (c === 39) return { value: this.singleQuoted(), isString: true };
    const start = this.i;
    // Indicators that start something outside the subset (or an error), and flow starts.
    if (
      c === NL ||
      this.i >= this.n ||
      c === 38 || // & anchor
      c === 42 || // * alias
      c === 33 || // ! tag
      c === 124 || // | block scalar
      c === 62 || // > block scalar
      c === 37 || // % directive
      c === 64 || // @ reserved
      c === 96 || // ` reserved
      c === 44 || // ,
      c === 91 ||
      c === 93 ||
      c === 123 ||
      c === 125 ||
      c === HASH ||
      c === 63 || // ? explicit key
      c === COLON ||
      c === 9
    )
      giveUp();
    let end = this.i;
    for (;;) {
      const d = this.t.charCodeAt(this.i);
      if (this.i >= this.n || d === NL) break;
      if (d === 9 || d === 13 || d === 0xfeff) giveUp();
      if (d === COLON) {
        const e = this.t.charCodeAt(this.i + 1);
        if (e === SP || e === NL || this.i + 1 >= this.n) break;
        if (flow && (e === 44 || e === 91 || e === 93 || e === 123 || e === 125)) break;
      } else if (d === HASH) {
        if (this.t.charCodeAt(this.i - 1) === SP) break;
      } else if (flow && (d === 44 || d === 91 || d === 93 || d === 123 || d === 125)) break;
      this.i++;
      if (d !== SP) end = this.i;
    }
    this.i = end;
    const text = this.t.slice(start, end);
    const value = resolvePlain(text);
    return { value, isString: typeof value === "string" };
  }

  singleQuoted(): string {
    let out = "";
    let run = ++this.i;
    for (;;) {
      const c = this.t.charCodeAt(this.i);
      if (this.i >= this.n || c === NL || c === 13) giveUp(); // multi-line or unclosed
      if (c === 39) {
        out += this.t.slice(run, this.i);
        if (this.t.charCodeAt(this.i + 1) === 39) {
          out += "'";
          this.i += 2;
          run = this.i;
          continue;
        }
        this.i++;
        return out;
      }
      this.i++;
    }
  }

  doubleQuoted(): string {
    let out = "";
    let run = ++this.i;
    for (;;) {
      const c = this.t.charCodeAt(this.i);
      if (this.i >= this.n || c === NL || c === 13) giveUp();
      if (c === 34) {
        out += this.t.slice(run, this.i);
        this.i++;
        return out;
      }
      if (c === 92) {
        out += this.t.slice(run, this.i);
        const e = this.t[this.i + 1];
        if (e === undefined) giveUp();
        const simple = ESCAPES[e];
        if (simple !== undefined) {
          out += simple;
          this.i += 2;
        } else {
          const len = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : -1;
          if (len < 0) giveUp(); // unknown escape or line continuation: the yaml package says
          const hex = this.t.slice(this.i + 2, this.i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) giveUp();
          const code = Number.parseInt(hex, 16);
          if (code > 0x10ffff) giveUp();
          out += String.fromCodePoint(code);
          this.i += 2 + len;
        }
        run = this.i;
        continue;
      }
      this.i++;
    }
  }
}

/**
 * Read `text` if it is inside the subset: the value (as the `yaml` package's `toJS` gives it)
 * and where each path's key and value start. Undefined: use the `yaml` package.
 */
export function readYamlLite(text: string): { value: unknown; positions: Positions } | undefined {
  if (text.length >= MAX_INDEXED) return undefined;
  if (/[\x00-\x09\x0b-\x1f\x7f\ufeff]/.test(text) || /^%/m.test(text)) return undefined;
  const r = new Reader(text);
  try {
    const col = r.nextContent();
    if (col !== 0) return undefined; // empty, or an indented root
    const c = text.charCodeAt(r.i);
    if (c === 91 || c === 123) return undefined; // a flow root: JSON goes its own way
    const value = r.block(0, -1);
    r.positions.root = r.at;
    if (value === null || typeof value !== "object") return undefined;
    if (r.nextContent() !== -1) return undefined;
    return { value, positions: r.positions };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
