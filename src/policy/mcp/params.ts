import { canonicalPathOf, pathRefusal } from "../canon/path.js";
import type { CompileContext } from "../context.js";
import { compilePathGlob, type Test } from "../match/glob.js";
import { Memo } from "../match/memo.js";
import { asList, S, type Schema } from "../schema.js";
import type { Path } from "../source.js";
import { pathPattern } from "../types/storage.js";

/** One argument constraint, compiled: returns a failure reason, or undefined when it holds. */
export interface ParamCheck {
  readonly name: string;
  readonly required: boolean;
  readonly check: (value: unknown) => string | undefined;
}

const constraint = S.obj({
  path: S.strs(),
  max_length: S.int(0),
  min_length: S.int(0),
  enum: S.arr(S.any()),
  regex: S.str(),
  type: S.str("string", "number", "integer", "boolean", "object", "array"),
  min: S.num(),
  max: S.num(),
  required: S.bool(),
});

/** `parameters`: argument name → constraint (a string is short for `{ path: <glob> }`). */
export const parametersSchema: Schema = S.map(S.oneOf(S.str(), constraint));

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
    const at = [...path, name];
    const c = (typeof raw === "string" ? { path: raw } : raw) as {
      path?: string | string[];
      max_length?: number;
      min_length?: number;
      enum?: unknown[];
      regex?: string;
      type?: string;
      min?: number;
      max?: number;
      required?: boolean;
    };
    const checks: ((v: unknown) => string | undefined)[] = [];
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
      const tests: Test[] = [];
      for (const p of asList(c.path)) {
        const cp = pathPattern(p, false);
        if (!cp.ok) {
          ctx.error([...at, "path"], "policy_bad_pattern", cp.reason);
          ok = false;
          continue;
        }
        tests.push(compilePathGlob(cp.value));
      }
      const globs = asList(c.path).join(", ");
      // What a raw path came to (see `Memo`): "" when it is inside, else the reason.
      const memo = new Memo<string>();
      const judgePath = (v: string): string => {
        const p = canonicalPathOf(v, false);
        if (p === undefined) return `is not an acceptable path (${pathRefusal})`;
        for (let i = 0; i < tests.length; i++) if (tests[i]!(p)) return "";
        return `is ${cut(p)} (canonical), outside ${globs}`;
      };
      checks.push((v) => {
        if (typeof v !== "string") return "is not an acceptable path (path must be a string)";
        let why = memo.get(v);
        if (why === undefined) memo.set(v, (why = judgePath(v)));
        return why === "" ? undefined : why;
      });
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
    out.push({
      name,
      required: c.required ?? true,
      check:
        checks.length === 1
          ? checks[0]!
          : (v) => {
              for (let i = 0; i < checks.length; i++) {
                const r = checks[i]!(v);
                if (r !== undefined) return r;
              }
              return undefined;
            },
    });
  }
  return ok ? out : undefined;
}

/** The first failing constraint as a reason, or undefined when all hold. */
const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

export function checkParams(checks: readonly ParamCheck[], args: unknown): string | undefined {
  const a = (args ?? NO_ARGS) as Record<string, unknown>;
  for (let i = 0; i < checks.length; i++) {
    const p = checks[i]!;
    const v = Object.hasOwn(a, p.name) ? a[p.name] : undefined;
    if (v === undefined) {
      if (p.required) return `argument "${p.name}" is required by the rule`;
      continue;
    }
    const r = p.check(v);
    if (r !== undefined) return `argument "${p.name}" ${r}`;
  }
  return undefined;
}
