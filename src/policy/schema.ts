import { keyOf, type Path, type PolicySource } from "./source.js";

/**
 * A small schema language for policy sections. Validation runs once at compile time over the
 * parsed source and reports every problem with file:line:col and the key; unknown keys get a
 * "did you mean".
 */
export type Schema =
  | {
      kind: "object";
      props: Readonly<Record<string, Schema>>;
      required?: readonly string[];
      /** Schema of the values of a free-form map (keys are names chosen by the user). */
      values?: Schema;
    }
  | { kind: "array"; items: Schema }
  | { kind: "string"; enum?: readonly string[] }
  | { kind: "number"; min?: number; max?: number; integer?: boolean }
  | { kind: "boolean" }
  | { kind: "union"; options: readonly Schema[] }
  | { kind: "any" };

export const S = {
  obj(props: Record<string, Schema>, required: readonly string[] = []): Schema {
    return { kind: "object", props, required };
  },
  map(values: Schema): Schema {
    return { kind: "object", props: {}, values };
  },
  arr(items: Schema): Schema {
    return { kind: "array", items };
  },
  str(...enumValues: string[]): Schema {
    return enumValues.length > 0 ? { kind: "string", enum: enumValues } : { kind: "string" };
  },
  int(min?: number, max?: number): Schema {
    const s: Schema = { kind: "number", integer: true };
    if (min !== undefined) s.min = min;
    if (max !== undefined) s.max = max;
    return s;
  },
  num(min?: number): Schema {
    return min === undefined ? { kind: "number" } : { kind: "number", min };
  },
  bool(): Schema {
    return { kind: "boolean" };
  },
  oneOf(...options: Schema[]): Schema {
    return { kind: "union", options };
  },
  any(): Schema {
    return { kind: "any" };
  },
  /** A string or a list of strings. */
  strs(...enumValues: string[]): Schema {
    const one = S.str(...enumValues);
    return { kind: "union", options: [one, S.arr(one)] };
  },
};

function typeName(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

function expected(s: Schema): string {
  switch (s.kind) {
    case "object":
      return "a mapping";
    case "array":
      return "a list";
    case "string":
      return s.enum ? `one of ${s.enum.map((e) => `"${e}"`).join(", ")}` : "a string";
    case "number":
      return s.integer ? "an integer" : "a number";
    case "boolean":
      return "true or false";
    case "union":
      return s.options.map(expected).join(" or ");
    default:
      return "anything";
  }
}

function fits(s: Schema, v: unknown): boolean {
  switch (s.kind) {
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "union":
      return s.options.some((o) => fits(o, v));
    default:
      return true;
  }
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function didYouMean(word: string, choices: Iterable<string>): string {
  let best = "";
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of choices) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== "" && bestD <= Math.max(2, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : "";
}

/** Validate `value` at `path`; errors go to `src`. Returns true when it is valid. */
export function validate(src: PolicySource, schema: Schema, value: unknown, path: Path): boolean {
  const before = src.errors.length;
  check(src, schema, value, [...path]);
  return src.errors.length === before;
}

/**
 * `path` is one array pushed and popped on the way down (a policy has thousands of nodes and
 * most are valid): an error reports a copy of it.
 */
function check(src: PolicySource, s: Schema, v: unknown, path: (string | number)[]): void {
  if (s.kind === "any") return;
  if (s.kind === "union") {
    const opts = s.options;
    let o: Schema | undefined;
    for (let i = 0; i < opts.length; i++) {
      if (fits(opts[i]!, v)) {
        o = opts[i];
        break;
      }
    }
    if (o === undefined) {
      src.error(
        path.slice(),
        "policy_type",
        `${keyOf(path)} must be ${expected(s)}, not ${typeName(v)}`,
      );
      return;
    }
    check(src, o, v, path);
    return;
  }
  if (!fits(s, v)) {
    src.error(
      path.slice(),
      "policy_type",
      `${keyOf(path)} must be ${expected(s)}, not ${typeName(v)}`,
    );
    return;
  }
  switch (s.kind) {
    case "object": {
      const obj = v as Record<string, unknown>;
      const props = s.props;
      for (const k of Object.keys(obj)) {
        const sub = Object.hasOwn(props, k) ? props[k] : s.values;
        if (sub === undefined) {
          const known = Object.keys(props);
          src.error(
            [...path, k],
            "policy_unknown_key",
            `unknown key "${k}" in ${keyOf(path)}${didYouMean(k, known)}; known keys: ${known.join(", ")}`,
            true,
          );
          continue;
        }
        path.push(k);
        check(src, sub, obj[k], path);
        path.pop();
      }
      const required = s.required;
      if (required !== undefined) {
        for (const r of required) {
          if (!(r in obj)) {
            src.error(path.slice(), "policy_missing_key", `${keyOf(path)} needs the key "${r}"`);
          }
        }
      }
      return;
    }
    case "array": {
      const arr = v as unknown[];
      for (let i = 0; i < arr.length; i++) {
        path.push(i);
        check(src, s.items, arr[i], path);
        path.pop();
      }
      return;
    }
    case "string":
      if (s.enum && !s.enum.includes(v as string)) {
        src.error(
          path.slice(),
          "policy_type",
          `${keyOf(path)} is "${String(v)}" but must be ${expected(s)}${didYouMean(String(v), s.enum)}`,
        );
      }
      return;
    case "number": {
      const n = v as number;
      if (s.integer && !Number.isInteger(n)) {
        src.error(path.slice(), "policy_type", `${keyOf(path)} must be an integer, not ${n}`);
      } else if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        src.error(
          path.slice(),
          "policy_type",
          `${keyOf(path)} is ${n} but must be between ${s.min ?? "-∞"} and ${s.max ?? "∞"}`,
        );
      }
      return;
    }
    default:
      return;
  }
}

/** A string or list of strings as a list. */
export function asList<T>(v: T | readonly T[] | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}
