/**
 * Schemas of policy sections are JSON Schemas (draft-07), validated by ajv (json-schema.ts).
 * The built-in sections' schemas are schemas/policy.schema.json, the file editors read; `S`
 * builds one for a permission type a host registers, in the same dialect the compiler checks:
 * objects refuse unknown keys ("did you mean"), and a union is one `type` list.
 */
export type Schema = Readonly<Record<string, unknown>>;

const typeOf = (s: Schema): string[] =>
  Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : [];

export const S = {
  obj(props: Record<string, Schema>, required: readonly string[] = []): Schema {
    return {
      type: "object",
      properties: props,
      additionalProperties: false,
      ...(required.length > 0 ? { required: [...required] } : {}),
    };
  },
  map(values: Schema): Schema {
    return { type: "object", additionalProperties: values };
  },
  arr(items: Schema): Schema {
    return { type: "array", items };
  },
  str(...enumValues: string[]): Schema {
    return enumValues.length > 0 ? { type: "string", enum: enumValues } : { type: "string" };
  },
  int(min?: number, max?: number): Schema {
    return {
      type: "integer",
      ...(min === undefined ? {} : { minimum: min }),
      ...(max === undefined ? {} : { maximum: max }),
    };
  },
  num(min?: number): Schema {
    return min === undefined ? { type: "number" } : { type: "number", minimum: min };
  },
  bool(): Schema {
    return { type: "boolean" };
  },
  /** One of several schemas of different types (their keywords merged into one `type` list). */
  oneOf(...options: Schema[]): Schema {
    const out: Record<string, unknown> = {};
    for (const o of options) Object.assign(out, o);
    out.type = options.flatMap(typeOf);
    return out;
  },
  any(): Schema {
    return {};
  },
  /** A string or a list of strings. */
  strs(...enumValues: string[]): Schema {
    const item = S.str(...enumValues);
    return {
      type: ["string", "array"],
      items: item,
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
      ...(enumValues.length > 0 ? { if: { type: "string" }, then: { enum: enumValues } } : {}),
    };
  },
};

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

/** A string or list of strings as a list. */
export function asList<T>(v: T | readonly T[] | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}
