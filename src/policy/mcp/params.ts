import { compilePathGlob, type Test } from "../../core/glob.js";
import { canonicalPathOf, pathRefusal } from "../canon/path.js";
import type { CompileContext } from "../context.js";
import { Memo } from "../match/memo.js";
import { asList } from "../schema.js";
import type { Path } from "../source.js";
import { pathPattern } from "../types/storage.js";
import type { RealPath } from "../types.js";

/**
 * A compiled constraint: a failure reason, or undefined when it holds. `real` resolves paths
 * through the host's file system (`CheckOptions.realPath`), when the host gives it.
 */
type Check = (value: unknown, real: RealPath | undefined) => string | undefined;

/** A value as a constraint judges it: paths canonical (`/data/x/../y` is `/data/y`). */
type Canon = (value: unknown) => unknown;

/** One argument constraint, compiled. */
export interface ParamCheck {
  readonly name: string;
  readonly required: boolean;
  readonly check: Check;
  /** For explanations: the argument in canonical form; absent when it holds no path. */
  readonly canon?: Canon;
}

/** Deepest `items` / `properties` nesting a rule may write (the schema and the checks recurse). */
const MAX_DEPTH = 8;

interface Constraint {
  path?: string | string[];
  max_length?: number;
  min_length?: number;
  enum?: unknown[];
  regex?: string;
  type?: string;
  min?: number;
  max?: number;
  required?: boolean;
  items?: string | Constraint;
  properties?: Record<string, string | Constraint>;
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function cut(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function compileParams(
  params: Readonly<Record<string, unknown>>,
  ctx: CompileContext,
  path: Path,
): ParamCheck[] | undefined {
  const out: ParamCheck[] = [];
  let ok = true;
  for (const [name, raw] of Object.entries(params)) {
    const c = (typeof raw === "string" ? { path: raw } : raw) as Constraint;
    const check = compileConstraint(c, ctx, [...path, name], 0);
    if (check === undefined) ok = false;
    else {
      const canon = canonOf(c);
      out.push({ name, required: c.required ?? true, check, ...(canon ? { canon } : {}) });
    }
  }
  return ok ? out : undefined;
}

const asConstraint = (raw: string | Constraint): Constraint =>
  typeof raw === "string" ? { path: raw } : raw;

/** How a (compiled, so at most MAX_DEPTH deep) constraint shows a value: its paths canonical. */
function canonOf(c: Constraint): Canon | undefined {
  if (c.path !== undefined)
    return (v) => (typeof v === "string" ? (canonicalPathOf(v, false) ?? v) : v);
  if (c.items !== undefined) {
    const each = canonOf(asConstraint(c.items));
    if (each !== undefined) return (v) => (Array.isArray(v) ? v.map(each) : v);
  }
  if (c.properties !== undefined) {
    const props: [string, Canon][] = [];
    for (const [k, raw] of Object.entries(c.properties)) {
      const f = canonOf(asConstraint(raw));
      if (f !== undefined) props.push([k, f]);
    }
    if (props.length > 0)
      return (v) => {
        if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
        const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
        for (const [k, f] of props) if (Object.hasOwn(o, k)) o[k] = f(o[k]);
        return o;
      };
  }
  return undefined;
}

/**
 * The arguments as the rule's constraints judged them (paths canonical), for
 * `explanation.input`; the same object when no constraint holds a path.
 */
export function canonicalArgs(checks: readonly ParamCheck[], args: unknown): unknown {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return args;
  let out: Record<string, unknown> | undefined;
  for (const p of checks) {
    if (p.canon === undefined || !Object.hasOwn(args, p.name)) continue;
    out ??= { ...(args as Record<string, unknown>) };
    out[p.name] = p.canon(out[p.name]);
  }
  return out ?? args;
}

/** One constraint (and those under its `items` / `properties`) as one check, or undefined. */
function compileConstraint(
  c: Constraint,
  ctx: CompileContext,
  at: Path,
  depth: number,
): Check | undefined {
  let ok = true;
  const checks: Check[] = [];
  if (c.type !== undefined) {
    const t = c.type;
    checks.push((v) => {
      const actual = typeOf(v);
      return actual === t || (t === "number" && actual === "integer")
        ? undefined
        : `must be of type ${t}, not ${actual}`;
    });
  }
  if (c.path !== undefined) {
    const p = pathCheck(c.path, ctx, at);
    if (p === undefined) ok = false;
    else checks.push(p);
  }
  if (c.max_length !== undefined || c.min_length !== undefined) {
    const hi = c.max_length ?? Number.POSITIVE_INFINITY;
    const lo = c.min_length ?? 0;
    checks.push((v) => {
      if (typeof v !== "string") return `must be a string (it has a length limit)`;
      if (v.length > hi) return `is ${v.length} characters long, over max_length ${hi}`;
      return v.length < lo ? `is ${v.length} characters long, under min_length ${lo}` : undefined;
    });
  }
  if (c.enum !== undefined) {
    const allowed = c.enum;
    checks.push((v) => {
      for (let i = 0; i < allowed.length; i++) if (allowed[i] === v) return undefined;
      return `${cut(v)} is not one of ${cut(allowed)}`;
    });
  }
  if (c.regex !== undefined) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(`^(?:${c.regex})$`, "u");
    } catch (e) {
      ctx.error([...at, "regex"], "policy_bad_pattern", `regex: ${(e as Error).message}`);
      ok = false;
    }
    const r = re;
    if (r) {
      checks.push((v) =>
        typeof v !== "string"
          ? "must be a string (it has a regex)"
          : r.test(v)
            ? undefined
            : `${cut(v)} does not match /${c.regex}/`,
      );
    }
  }
  if (c.min !== undefined || c.max !== undefined) {
    const lo = c.min ?? Number.NEGATIVE_INFINITY;
    const hi = c.max ?? Number.POSITIVE_INFINITY;
    checks.push((v) =>
      typeof v !== "number"
        ? "must be a number"
        : v < lo || v > hi
          ? `${v} is outside ${c.min ?? "-∞"}..${c.max ?? "∞"}`
          : undefined,
    );
  }
  if ((c.items !== undefined || c.properties !== undefined) && depth >= MAX_DEPTH) {
    const key = c.items !== undefined ? "items" : "properties";
    ctx.error([...at, key], "policy_bad_value", `${key} nests deeper than ${MAX_DEPTH} levels`);
    return undefined;
  }
  if (c.items !== undefined) {
    const ic = (typeof c.items === "string" ? { path: c.items } : c.items) as Constraint;
    const each = compileConstraint(ic, ctx, [...at, "items"], depth + 1);
    if (each === undefined) ok = false;
    else
      checks.push((v, real) => {
        if (!Array.isArray(v)) return `must be an array (it has items), not ${typeOf(v)}`;
        for (let i = 0; i < v.length; i++) {
          const r = each(v[i], real);
          if (r !== undefined) return `[${i}] ${r}`;
        }
        return undefined;
      });
  }
  if (c.properties !== undefined) {
    const props: ParamCheck[] = [];
    for (const [name, raw] of Object.entries(c.properties)) {
      const pc = (typeof raw === "string" ? { path: raw } : raw) as Constraint;
      const check = compileConstraint(pc, ctx, [...at, "properties", name], depth + 1);
      if (check === undefined) ok = false;
      else props.push({ name, required: pc.required ?? true, check });
    }
    checks.push((v, real) => {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        return `must be an object (it has properties), not ${typeOf(v)}`;
      const r = failing(props, v as Record<string, unknown>, real);
      return r === undefined ? undefined : `property ${r}`;
    });
  }
  if (!ok) return undefined;
  if (checks.length === 1) return checks[0]!;
  return (v, real) => {
    for (let i = 0; i < checks.length; i++) {
      const r = checks[i]!(v, real);
      if (r !== undefined) return r;
    }
    return undefined;
  };
}

/**
 * A `path` constraint. Judged as strings, what a raw path came to is remembered (see `Memo`);
 * with the host's file system (`real`), each call resolves it again (the file system changes)
 * and the globs judge the path the host would open.
 */
function pathCheck(globsIn: string | string[], ctx: CompileContext, at: Path): Check | undefined {
  const tests: Test[] = [];
  let ok = true;
  for (const p of asList(globsIn)) {
    const cp = pathPattern(p, false);
    if (!cp.ok) {
      ctx.error([...at, "path"], "policy_bad_pattern", cp.reason);
      ok = false;
      continue;
    }
    tests.push(compilePathGlob(cp.value));
  }
  if (!ok) return undefined;
  const globs = asList(globsIn).join(", ");
  const inside = (p: string): boolean => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(p)) return true;
    return false;
  };
  // What a raw path came to, judged as a string: "" when it is inside, else the reason.
  const memo = new Memo<string>();
  const judgePath = (v: string): string => {
    const p = canonicalPathOf(v, false);
    if (p === undefined) return `is not an acceptable path (${pathRefusal})`;
    return inside(p) ? "" : `is ${cut(p)} (canonical), outside ${globs}`;
  };
  const judgeReal = (v: string, real: RealPath): string | undefined => {
    const p = canonicalPathOf(v, false);
    if (p === undefined) return `is not an acceptable path (${pathRefusal})`;
    const r = real(p, v);
    if (typeof r !== "string") return `is not an acceptable path (${r.refused})`;
    const rp = r === p ? p : canonicalPathOf(r, false);
    if (rp === undefined) return `resolves to ${cut(r)}, not an acceptable path (${pathRefusal})`;
    if (inside(rp)) return undefined;
    return rp === p
      ? `is ${cut(p)} (canonical), outside ${globs}`
      : `is ${cut(p)}, which resolves through symbolic links to ${cut(rp)}, outside ${globs}`;
  };
  return (v, real) => {
    if (typeof v !== "string") return "is not an acceptable path (path must be a string)";
    if (real !== undefined) return judgeReal(v, real);
    let why = memo.get(v);
    if (why === undefined) memo.set(v, (why = judgePath(v)));
    return why === "" ? undefined : why;
  };
}

const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

/** The first failing constraint as a reason, or undefined when all hold. */
export function checkParams(
  checks: readonly ParamCheck[],
  args: unknown,
  real?: RealPath,
): string | undefined {
  const r = failing(checks, (args ?? NO_ARGS) as Record<string, unknown>, real);
  return r === undefined ? undefined : `argument ${r}`;
}

/** `"name" <reason>` of the first constraint `a` fails, or undefined. */
function failing(
  checks: readonly ParamCheck[],
  a: Record<string, unknown>,
  real: RealPath | undefined,
): string | undefined {
  for (let i = 0; i < checks.length; i++) {
    const p = checks[i]!;
    const v = Object.hasOwn(a, p.name) ? a[p.name] : undefined;
    if (v === undefined) {
      if (p.required) return `"${p.name}" is required by the rule`;
      continue;
    }
    const r = p.check(v, real);
    if (r !== undefined) return `"${p.name}" ${r}`;
  }
  return undefined;
}
