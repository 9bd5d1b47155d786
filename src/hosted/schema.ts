/**
 * WIT value types as JSON Schema (draft-07, what MCP clients read), one mapping per type; the
 * table is in docs/hosted-tools.md. ./convert.ts turns JSON that passed these schemas into
 * jco's JavaScript values and back, exactly.
 *
 * - bool: boolean; u8..u32, s8..s32: integer with the type's bounds
 * - u64, s64: an integer within ±2^53-1, or a string of decimal digits within the type's bounds
 *   (JSON numbers are doubles; larger values are written as strings both ways)
 * - f32, f64: number, or "NaN" / "Infinity" / "-Infinity"
 * - char: a string of one Unicode scalar value; string: string
 * - list<T>: array of T (list<T, N>: exactly N); tuple<...>: array with one schema per position
 * - option<T>: T or null (absent in a record or as a parameter means none too); when T can itself
 *   be null (option<option<T>>), some is written `{ "tag": "some", "val": <the inner value> }`
 * - result<T, E>: `{ "tag": "ok", "val": T }` or `{ "tag": "err", "val": E }` (val absent for _);
 *   a function's own result<T, E> is the tool's answer: ok is the result, err an isError answer
 * - record: object with the WIT field names, every non-option field required, no other keys
 * - variant: `{ "tag": "<case>", "val": <payload> }` (val only for cases with a payload)
 * - enum: one of the case names; flags: object of booleans, one per flag, absent = false
 * - own<R>, borrow<R>, resources, future, stream: no mapping; the function is refused at load
 */
import type { WitType } from "./wit/types.js";

export type JsonSchema = Record<string, unknown>;

export const SAFE = Number.MAX_SAFE_INTEGER;

const INT_BOUNDS: Record<string, [number, number]> = {
  u8: [0, 255],
  u16: [0, 65535],
  u32: [0, 4294967295],
  s8: [-128, 127],
  s16: [-32768, 32767],
  s32: [-2147483648, 2147483647],
};

/** Why a type has no JSON mapping (a resource, a handle, a stream), or undefined. */
export function unmappable(t: WitType): string | undefined {
  switch (t.kind) {
    case "handle":
      return `${t.how}<${t.name}> (a resource handle)`;
    case "unsupported":
      return t.name;
    case "list":
    case "option":
      return unmappable(t.of);
    case "result":
      return (t.ok && unmappable(t.ok)) || (t.err && unmappable(t.err)) || undefined;
    case "tuple":
      for (const x of t.of) {
        const u = unmappable(x);
        if (u) return u;
      }
      return undefined;
    case "record":
      for (const f of t.fields) {
        const u = unmappable(f.type);
        if (u) return u;
      }
      return undefined;
    case "variant":
      for (const c of t.cases) {
        const u = c.type && unmappable(c.type);
        if (u) return u;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** True when the type's JSON form can be null (so an enclosing option needs the tagged form). */
export function nullable(t: WitType): boolean {
  return t.kind === "option";
}

function tagged(tag: string, val?: JsonSchema): JsonSchema {
  const properties: Record<string, JsonSchema> = { tag: { const: tag } };
  if (val !== undefined) properties.val = val;
  return {
    type: "object",
    properties,
    required: val === undefined ? ["tag"] : ["tag", "val"],
    additionalProperties: false,
  };
}

function withDocs(s: JsonSchema, docs: string | undefined): JsonSchema {
  return docs === undefined ? s : { ...s, description: docs };
}

export function schemaOf(t: WitType): JsonSchema {
  switch (t.kind) {
    case "prim":
      switch (t.name) {
        case "bool":
          return { type: "boolean" };
        case "string":
          return { type: "string" };
        case "char":
          return { type: "string", minLength: 1, maxLength: 1 };
        case "f32":
        case "f64":
          return { anyOf: [{ type: "number" }, { enum: ["NaN", "Infinity", "-Infinity"] }] };
        case "u64":
          return {
            anyOf: [
              { type: "integer", minimum: 0, maximum: SAFE },
              { type: "string", pattern: "^(0|[1-9][0-9]{0,19})$" },
            ],
          };
        case "s64":
          return {
            anyOf: [
              { type: "integer", minimum: -SAFE, maximum: SAFE },
              { type: "string", pattern: "^(0|-?[1-9][0-9]{0,18})$" },
            ],
          };
        default: {
          const [minimum, maximum] = INT_BOUNDS[t.name]!;
          return { type: "integer", minimum, maximum };
        }
      }
    case "list": {
      const s: JsonSchema = { type: "array", items: schemaOf(t.of) };
      if (t.length !== undefined) {
        s.minItems = t.length;
        s.maxItems = t.length;
      }
      return s;
    }
    case "tuple":
      return {
        type: "array",
        items: t.of.map(schemaOf),
        minItems: t.of.length,
        maxItems: t.of.length,
        additionalItems: false,
      };
    case "option":
      if (nullable(t.of)) return { anyOf: [{ type: "null" }, tagged("some", schemaOf(t.of))] };
      return { anyOf: [{ type: "null" }, schemaOf(t.of)] };
    case "result":
      return {
        oneOf: [tagged("ok", t.ok && schemaOf(t.ok)), tagged("err", t.err && schemaOf(t.err))],
      };
    case "record": {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const f of t.fields) {
        properties[f.name] = withDocs(schemaOf(f.type), f.docs);
        if (f.type.kind !== "option") required.push(f.name);
      }
      return { type: "object", properties, required, additionalProperties: false };
    }
    case "variant":
      return {
        oneOf: t.cases.map((c) => withDocs(tagged(c.name, c.type && schemaOf(c.type)), c.docs)),
      };
    case "enum":
      return { type: "string", enum: t.cases.map((c) => c.name) };
    case "flags": {
      const properties: Record<string, JsonSchema> = {};
      for (const f of t.flags) properties[f.name] = withDocs({ type: "boolean" }, f.docs);
      return { type: "object", properties, additionalProperties: false };
    }
    case "handle":
    case "unsupported":
      throw new Error(`no JSON Schema for ${unmappable(t)}`);
  }
}
