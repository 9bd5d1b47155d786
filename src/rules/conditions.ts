/**
 * Conditions, compiled once into closures: a leaf `{field, operator, value}` or a group
 * `{all: [...]}`, `{any: [...]}`, `{not: ...}`. `test` is the per-call path (no allocation on
 * the common operators); `explain` does the same and records each condition's value.
 */
import type { Path } from "../policy/source.js";
import { keyOf } from "../policy/source.js";
import { compileField, type Getter } from "./fields.js";
import { compileRegex } from "./regex.js";
import { type ActionContext, type ConditionTrace, OPERATORS, type Operator } from "./types.js";

export interface Condition {
  test(ctx: ActionContext): boolean;
  explain(ctx: ActionContext, out: ConditionTrace[]): boolean;
}

export type Report = (path: Path, message: string) => void;

type Obj = Record<string, unknown>;
type Scalar = string | number | boolean | null;

const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/** A value as a trace shows it: scalars as they are, long strings and structures shortened. */
export function shown(v: unknown): unknown {
  if (typeof v === "string") return v.length > 200 ? `${v.slice(0, 197)}...` : v;
  if (v === null || typeof v !== "object") return v;
  const s = JSON.stringify(v) ?? "";
  return s.length > 200 ? `${s.slice(0, 197)}...` : v;
}

/** The test of one operator on a field's value (undefined: missing), or a message. */
function leafTest(op: Operator, value: unknown): ((v: unknown) => boolean) | string {
  switch (op) {
    case "eq":
    case "ne": {
      if (!isScalar(value))
        return `${op} compares with a string, number, true, false or null; for a list of values use ${op === "eq" ? "in" : "not_in"}`;
      return op === "eq" ? (v) => v === value : (v) => v !== value;
    }
    case "in":
    case "not_in": {
      if (!Array.isArray(value) || !value.every(isScalar))
        return `${op} takes a list of strings, numbers, true, false or null as its value`;
      const set = new Set<unknown>(value);
      return op === "in" ? (v) => set.has(v) : (v) => !set.has(v);
    }
    case "contains": {
      if (!isScalar(value))
        return "contains takes a string (or, for a list field, a scalar) as its value";
      return (v) =>
        typeof v === "string"
          ? typeof value === "string" && v.includes(value)
          : Array.isArray(v) && v.includes(value);
    }
    case "starts_with":
    case "ends_with": {
      if (typeof value !== "string") return `${op} takes a string as its value`;
      return op === "starts_with"
        ? (v) => typeof v === "string" && v.startsWith(value)
        : (v) => typeof v === "string" && v.endsWith(value);
    }
    case "matches": {
      if (typeof value !== "string") return "matches takes an RE2 pattern (a string) as its value";
      const re = compileRegex(value);
      if (typeof re === "string") return re;
      return (v) => typeof v === "string" && re.test(v);
    }
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      if (typeof value !== "number") return `${op} compares with a number`;
      if (op === "gt") return (v) => typeof v === "number" && v > value;
      if (op === "gte") return (v) => typeof v === "number" && v >= value;
      if (op === "lt") return (v) => typeof v === "number" && v < value;
      return (v) => typeof v === "number" && v <= value;
    }
    case "exists": {
      if (value !== undefined && typeof value !== "boolean")
        return "exists takes true (the default) or false as its value";
      return value === false ? (v) => v === undefined : (v) => v !== undefined;
    }
  }
}

function leaf(c: Obj, path: Path, report: Report): Condition | undefined {
  const field = c.field;
  const op = c.operator as Operator;
  if (typeof field !== "string" || !(OPERATORS as readonly unknown[]).includes(op)) {
    if (c.field === undefined)
      report(path, "a condition needs field and operator (or is a group: all, any, not)");
    else if (c.operator === undefined)
      report(
        path,
        `the condition on "${String(field)}" needs an operator: ${OPERATORS.join(", ")}`,
      );
    return undefined; // a wrong operator or field type: the schema said so
  }
  if (c.value === undefined && op !== "exists") {
    report(path, `the condition "${field} ${op}" needs a value`);
    return undefined;
  }
  const get: Getter | string = compileField(field);
  if (typeof get === "string") {
    report([...path, "field"], get);
    return undefined;
  }
  const t = leafTest(op, c.value);
  if (typeof t === "string") {
    report([...path, "value"], t);
    return undefined;
  }
  const at = keyOf(path);
  const text = `${field} ${op}${c.value === undefined ? "" : ` ${JSON.stringify(shown(c.value))}`}`;
  return {
    test: (ctx) => t(get(ctx)),
    explain(ctx, out) {
      const actual = get(ctx);
      const result = t(actual);
      const entry: ConditionTrace = { at, test: text, result };
      if (actual !== undefined) entry.actual = shown(actual);
      out.push(entry);
      return result;
    },
  };
}

/** All of `list` (an empty list holds). */
export function allOf(list: readonly Condition[], at: string, label = "all"): Condition {
  if (list.length === 1 && label === "") return list[0]!;
  return {
    test(ctx) {
      for (const c of list) if (!c.test(ctx)) return false;
      return true;
    },
    explain(ctx, out) {
      const entry: ConditionTrace = { at, test: label, result: true };
      if (label !== "") out.push(entry);
      for (const c of list)
        if (!c.explain(ctx, out)) {
          entry.result = false;
          return false;
        }
      return true;
    },
  };
}

function anyOf(list: readonly Condition[], at: string): Condition {
  return {
    test(ctx) {
      for (const c of list) if (c.test(ctx)) return true;
      return false;
    },
    explain(ctx, out) {
      const entry: ConditionTrace = { at, test: "any", result: false };
      out.push(entry);
      for (const c of list)
        if (c.explain(ctx, out)) {
          entry.result = true;
          return true;
        }
      return false;
    },
  };
}

function not(inner: Condition, at: string): Condition {
  return {
    test: (ctx) => !inner.test(ctx),
    explain(ctx, out) {
      const entry: ConditionTrace = { at, test: "not", result: false };
      out.push(entry);
      entry.result = !inner.explain(ctx, out);
      return entry.result;
    },
  };
}

const GROUPS = ["all", "any", "not"] as const;

/** Compile one condition (leaf or group) at `path`; undefined when it has problems (reported). */
export function compileCondition(c: unknown, path: Path, report: Report): Condition | undefined {
  if (c === null || typeof c !== "object" || Array.isArray(c)) return undefined; // schema
  const o = c as Obj;
  const groups = GROUPS.filter((g) => o[g] !== undefined);
  const isLeaf = o.field !== undefined || o.operator !== undefined || o.value !== undefined;
  if (groups.length + (isLeaf ? 1 : 0) !== 1) {
    report(
      path,
      groups.length + (isLeaf ? 1 : 0) === 0
        ? "an empty condition: write {field, operator, value} or a group {all: [...]}, {any: [...]}, {not: ...}"
        : `a condition is one of {field, operator, value}, {all: [...]}, {any: [...]} or {not: ...}; this one mixes ${[...(isLeaf ? ["field"] : []), ...groups].join(" and ")}: nest them in all`,
    );
    return undefined;
  }
  if (isLeaf) return leaf(o, path, report);
  const g = groups[0]!;
  if (g === "not") {
    const inner = compileCondition(o.not, [...path, "not"], report);
    return inner && not(inner, keyOf(path));
  }
  const list = compileList(o[g], [...path, g], report);
  if (list === undefined) return undefined;
  return g === "all" ? allOf(list, keyOf(path)) : anyOf(list, keyOf(path));
}

/** Compile a list of conditions; undefined when one has problems. */
export function compileList(v: unknown, path: Path, report: Report): Condition[] | undefined {
  if (!Array.isArray(v)) return undefined; // schema
  const out: Condition[] = [];
  let bad = false;
  v.forEach((c, i) => {
    const compiled = compileCondition(c, [...path, i], report);
    if (compiled === undefined) bad = true;
    else out.push(compiled);
  });
  return bad ? undefined : out;
}
