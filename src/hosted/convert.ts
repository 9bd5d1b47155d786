/**
 * JSON (validated against ./schema.ts) to jco's JavaScript values and back, per WIT type:
 * u64/s64 as bigint, list<number type> as the matching typed array, records and flags with
 * lowerCamelCase keys, options as undefined (nested ones tagged), results and variants as
 * `{ tag, val }`, enums as strings, tuples as arrays. Runs inside the component worker.
 */
import type { PrimName, WitType } from "./wit/types.js";

/** A value that passed the schema but is not the type (a u64 string out of range). */
export class ConvertError extends Error {}

/** jco's name for a WIT identifier (heck's lowerCamelCase): `max-results` → `maxResults`. */
export function camel(name: string): string {
  const words = name.split("-");
  return words
    .map((w, i) =>
      i === 0
        ? w.toLowerCase()
        : w.length === 0
          ? ""
          : w[0]!.toUpperCase() + w.slice(1).toLowerCase(),
    )
    .join("");
}

const TYPED: Partial<Record<PrimName, new (xs: ArrayLike<number> | ArrayLike<bigint>) => unknown>> =
  {
    u8: Uint8Array as never,
    s8: Int8Array as never,
    u16: Uint16Array as never,
    s16: Int16Array as never,
    u32: Uint32Array as never,
    s32: Int32Array as never,
    u64: BigUint64Array as never,
    s64: BigInt64Array as never,
    f32: Float32Array as never,
    f64: Float64Array as never,
  };

const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

function big(v: unknown, name: "u64" | "s64", at: string): bigint {
  const b = typeof v === "bigint" ? v : BigInt(v as number | string);
  const [lo, hi] = name === "u64" ? [0n, U64_MAX] : [S64_MIN, S64_MAX];
  if (b < lo || b > hi) throw new ConvertError(`${at}: ${String(v)} is out of range for ${name}`);
  return b;
}

function float(v: unknown): number {
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return v as number;
}

function nullable(t: WitType): boolean {
  return t.kind === "option";
}

/** JSON → jco value. `at` names the place for errors (`arguments.p.x`). */
export function toJs(t: WitType, v: unknown, at: string): unknown {
  switch (t.kind) {
    case "prim":
      switch (t.name) {
        case "u64":
        case "s64":
          return big(v, t.name, at);
        case "f32":
        case "f64":
          return float(v);
        default:
          return v;
      }
    case "list": {
      const xs = v as unknown[];
      if (t.of.kind === "prim") {
        const Typed = TYPED[t.of.name];
        if (Typed !== undefined) {
          const el = t.of;
          return new Typed(xs.map((x, i) => toJs(el, x, `${at}[${i}]`)) as number[]);
        }
      }
      return xs.map((x, i) => toJs(t.of, x, `${at}[${i}]`));
    }
    case "tuple":
      return t.of.map((e, i) => toJs(e, (v as unknown[])[i], `${at}[${i}]`));
    case "option":
      if (v === null || v === undefined) return nullable(t.of) ? { tag: "none" } : undefined;
      if (nullable(t.of)) {
        const o = v as { tag: string; val?: unknown };
        return { tag: "some", val: toJs(t.of, o.val, `${at}.val`) };
      }
      return toJs(t.of, v, at);
    case "result": {
      const o = v as { tag: "ok" | "err"; val?: unknown };
      const inner = o.tag === "ok" ? t.ok : t.err;
      return {
        tag: o.tag,
        val: inner === undefined ? undefined : toJs(inner, o.val, `${at}.val`),
      };
    }
    case "record": {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[camel(f.name)] = toJs(f.type, o[f.name], `${at}.${f.name}`);
      return out;
    }
    case "variant": {
      const o = v as { tag: string; val?: unknown };
      const c = t.cases.find((x) => x.name === o.tag);
      if (c === undefined) throw new ConvertError(`${at}: unknown case ${o.tag}`);
      return c.type === undefined
        ? { tag: c.name }
        : { tag: c.name, val: toJs(c.type, o.val, `${at}.val`) };
    }
    case "enum":
      return v;
    case "flags": {
      const o = v as Record<string, boolean | undefined>;
      const out: Record<string, boolean> = {};
      for (const f of t.flags) out[camel(f.name)] = o[f.name] === true;
      return out;
    }
    default:
      throw new ConvertError(`${at}: no conversion for ${t.kind}`);
  }
}

function jsonNumber(n: number): number | string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  return n;
}

function jsonBig(b: bigint): number | string {
  return b >= -BigInt(Number.MAX_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(b)
    : b.toString();
}

/**
 * The most JSON a component's result may become (a lower bound of its size is counted as it is
 * converted, before any list is copied): a 100,000,000-byte `list<u8>` (within a component's
 * memory) became an array of 100 million numbers and its JSON twice over, and the process ran
 * out of heap. The gateway's own bound on an upstream's answer is the same (max_answer_bytes).
 */
export const MAX_RESULT_JSON_BYTES = 16 * 1024 * 1024;

/** What is left of the result's JSON budget (fromJs). */
export interface JsonBudget {
  left: number;
}

function charge(b: JsonBudget, n: number): void {
  b.left -= n;
  if (b.left < 0)
    throw new ConvertError(
      `its JSON would be over ${MAX_RESULT_JSON_BYTES} bytes, the most Warden passes on; return less (a page of it, or a file the tool writes)`,
    );
}

/** jco value → JSON (the tool's structured result), at most MAX_RESULT_JSON_BYTES of it. */
export function fromJs(
  t: WitType,
  v: unknown,
  budget: JsonBudget = { left: MAX_RESULT_JSON_BYTES },
): unknown {
  // every value is at least one character of JSON and a separator; strings their length too
  charge(budget, typeof v === "string" ? v.length + 3 : 2);
  switch (t.kind) {
    case "prim":
      switch (t.name) {
        case "u64":
        case "s64":
          return jsonBig(BigInt(v as bigint));
        case "f32":
        case "f64":
          return jsonNumber(v as number);
        default:
          return v;
      }
    case "list": {
      // each element is at least 2 bytes of JSON (charged as converted): a list that cannot
      // fit is refused before it is copied
      const n = 2 * ((v as ArrayLike<unknown>).length ?? 0);
      if (n > budget.left) charge(budget, n);
      return Array.from(v as ArrayLike<unknown>, (x) => fromJs(t.of, x, budget));
    }
    case "tuple":
      return t.of.map((e, i) => fromJs(e, (v as unknown[])[i], budget));
    case "option":
      if (nullable(t.of)) {
        const o = v as { tag: string; val?: unknown } | undefined;
        if (o === undefined || o === null || o.tag === "none") return null;
        return { tag: "some", val: fromJs(t.of, o.val, budget) };
      }
      return v === undefined || v === null ? null : fromJs(t.of, v, budget);
    case "result": {
      const o = v as { tag: "ok" | "err"; val?: unknown };
      const inner = o.tag === "ok" ? t.ok : t.err;
      return inner === undefined
        ? { tag: o.tag }
        : { tag: o.tag, val: fromJs(inner, o.val, budget) };
    }
    case "record": {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[f.name] = fromJs(f.type, o[camel(f.name)], budget);
      return out;
    }
    case "variant": {
      const o = v as { tag: string; val?: unknown };
      const c = t.cases.find((x) => x.name === o.tag);
      if (c === undefined)
        throw new ConvertError(`the component returned an unknown case ${o.tag}`);
      return c.type === undefined
        ? { tag: c.name }
        : { tag: c.name, val: fromJs(c.type, o.val, budget) };
    }
    case "enum":
      return v;
    case "flags": {
      const o = v as Record<string, boolean | undefined>;
      const out: Record<string, boolean> = {};
      for (const f of t.flags) out[f.name] = o[camel(f.name)] === true;
      return out;
    }
    default:
      throw new ConvertError(`no conversion for ${t.kind}`);
  }
}
