/**
 * What an audit line records of a call's arguments: bounded in depth and size whatever the
 * client sent, so that a line is always written (a 20,000-level or 50 MB argument costs a
 * marker, never the line). Iterative budget, no recursion deeper than the depth bound.
 */
import type { ArgumentsMode } from "./record.js";

export interface ArgumentBounds {
  /** Levels of objects and arrays kept; deeper values become "<…depth>". */
  readonly maxDepth: number;
  /** Characters of strings and keys kept in all (about the bytes of the recorded value). */
  readonly maxBytes: number;
}

export const DEFAULT_BOUNDS: ArgumentBounds = { maxDepth: 8, maxBytes: 8192 };

/** Items of one array or keys of one object kept before the rest is counted in a marker. */
const MAX_ITEMS = 64;

/** The bounded value, and whether anything was cut (the line then says `arguments_truncated`). */
export interface Bounded {
  value: unknown;
  truncated: boolean;
}

/**
 * `redacted`: every leaf replaced by its type (strings by their length), the structure kept;
 * `full`: the values themselves. Both are cut at `maxDepth` levels, `MAX_ITEMS` items per array
 * or object and `maxBytes` characters in all, each cut leaving a marker string `<…...>`.
 */
export function boundArguments(v: unknown, mode: ArgumentsMode, b: ArgumentBounds): Bounded {
  if (mode === "omit") return { value: undefined, truncated: false };
  const st = { left: b.maxBytes, truncated: false };
  const value = walk(v, 0, mode === "redacted", b.maxDepth, st);
  return { value, truncated: st.truncated };
}

function walk(
  v: unknown,
  depth: number,
  redact: boolean,
  maxDepth: number,
  st: { left: number; truncated: boolean },
): unknown {
  if (v === null || v === undefined) return v ?? null;
  switch (typeof v) {
    case "string": {
      if (redact) return take(st, 12) ? `<string:${v.length}>` : cut(st, "size");
      if (v.length <= st.left) {
        st.left -= v.length;
        return v;
      }
      const keep = Math.max(0, st.left);
      st.left = 0;
      st.truncated = true;
      return `${v.slice(0, keep)}<…${v.length - keep} more chars>`;
    }
    case "number":
    case "boolean":
      if (redact) return take(st, 9) ? `<${typeof v}>` : cut(st, "size");
      return take(st, 8) ? v : cut(st, "size");
    case "object":
      break;
    default:
      return `<${typeof v}>`;
  }
  if (depth >= maxDepth) return cut(st, "depth");
  if (!take(st, 2)) return cut(st, "size");
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    const n = Math.min(v.length, MAX_ITEMS);
    for (let i = 0; i < n; i++) {
      if (st.left <= 0) break;
      out.push(walk(v[i], depth + 1, redact, maxDepth, st));
    }
    if (out.length < v.length) {
      st.truncated = true;
      out.push(`<…${v.length - out.length} more items>`);
    }
    return out;
  }
  // A record without a prototype: a key "__proto__" is kept as data, not a prototype.
  const out: Record<string, unknown> = Object.create(null);
  let kept = 0;
  let total = 0;
  for (const k in v as object) {
    if (!Object.hasOwn(v as object, k)) continue;
    total++;
    if (kept >= MAX_ITEMS || st.left <= 0) continue;
    const key = k.length <= 256 ? k : `${k.slice(0, 256)}<…>`;
    if (!take(st, key.length + 1)) continue;
    out[key] = walk((v as Record<string, unknown>)[k], depth + 1, redact, maxDepth, st);
    kept++;
  }
  if (kept < total) {
    st.truncated = true;
    out["<…>"] = `<${total - kept} more keys>`;
  }
  return out;
}

function take(st: { left: number }, n: number): boolean {
  if (st.left < n) return false;
  st.left -= n;
  return true;
}

function cut(st: { truncated: boolean }, why: "depth" | "size"): string {
  st.truncated = true;
  return why === "depth" ? "<…depth>" : "<…size>";
}
