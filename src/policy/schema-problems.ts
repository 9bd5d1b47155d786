/**
 * ajv's errors as messages a user can act on: each names the key, says what is accepted (the
 * schema's `errorMessage` when it has one, the one editors show too), and suggests the closest
 * key or value ("did you mean"). One problem per value: the first thing ajv said about it.
 */
import type { ErrorObject } from "ajv";
import type { SchemaProblem } from "./json-schema.js";
import { didYouMean } from "./schema.js";
import { keyOf, type Path } from "./source.js";

type Schema = Record<string, unknown>;

/** JSON Pointer to a path, numbers where the value is a list. */
function toPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === "") return [];
  const out: (string | number)[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const key = Array.isArray(node) ? Number(seg) : seg;
    out.push(key);
    node =
      node !== null && typeof node === "object"
        ? (node as Record<string | number, unknown>)[key]
        : undefined;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v} (${short(v)})`;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const TYPE_WORDS: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  null: "nothing",
};

function expectedTypes(t: unknown): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => TYPE_WORDS[String(x)] ?? String(x)).join(" or ");
}

function range(s: Schema): string {
  const whole = s.type === "integer" || (Array.isArray(s.type) && s.type.includes("integer"));
  const what = whole ? "a whole number" : "a number";
  const min = typeof s.minimum === "number" ? s.minimum : undefined;
  const max = typeof s.maximum === "number" ? s.maximum : undefined;
  if (min !== undefined && max !== undefined) return `${what} from ${min} to ${max}`;
  if (min !== undefined) return `${what} of at least ${min}`;
  if (max !== undefined) return `${what} of at most ${max}`;
  return what;
}

/** The schema's own words when it has them, with the value it got (and a "did you mean"). */
function said(s: Schema, v: unknown, fallback: string, hint = ""): string {
  const own = typeof s.errorMessage === "string" ? s.errorMessage : undefined;
  if (own === undefined) return fallback;
  if (v === null || typeof v === "object") return own;
  return `${own.replace(/\.$/, "")}, not ${short(v)}${hint}.`;
}

/** A key's description as a clause: its first sentence, lower-cased. */
function clause(d: unknown): string {
  if (typeof d !== "string" || d === "") return "";
  const first = d.split(/\.(?:\s|$)/)[0]!;
  return ` (${first.charAt(0).toLowerCase()}${first.slice(1)})`;
}

export function schemaProblems(errors: ErrorObject[], root: unknown, base: Path): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const valueSeen = new Set<string>();
  for (const e of errors) {
    const rel = toPath(e.instancePath, root);
    const path = [...base, ...rel];
    const ps = (e.parentSchema ?? {}) as Schema;
    const v = e.data;
    const key = keyOf(path);
    const title = typeof ps.title === "string" ? ps.title : undefined;
    const what = title === undefined ? key : path.length === 0 ? title : `${key} (${title})`;
    switch (e.keyword) {
      case "additionalProperties": {
        const k = String((e.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys((ps.properties ?? {}) as Schema).filter((p) => {
          const sub = (ps.properties as Record<string, Schema>)[p];
          return sub === undefined || !("not" in sub);
        });
        out.push({
          kind: "unknown_key",
          path: [...path, k],
          at: [...path, k],
          atKey: true,
          message: `unknown key "${k}" in ${what}${didYouMean(k, known)}; known keys: ${known.join(", ")}.`,
        });
        continue;
      }
      case "required": {
        const k = String((e.params as { missingProperty: string }).missingProperty);
        const sub = ((ps.properties ?? {}) as Record<string, Schema>)[k] ?? {};
        out.push({
          kind: "missing_key",
          path: [...path, k],
          at: path,
          atKey: false,
          message: `${what} needs the key "${k}"${clause(sub.description)}.`,
        });
        continue;
      }
      case "not":
        // `{ "not": {} }`: a key that was removed or cannot be written here.
        out.push({
          kind: "unknown_key",
          path,
          at: path,
          atKey: true,
          message: typeof ps.errorMessage === "string" ? ps.errorMessage : `${key} is not allowed.`,
        });
        continue;
      case "if":
        continue; // its `then` said why
    }
    const id = keyOf(path);
    if (valueSeen.has(id)) continue;
    valueSeen.add(id);
    let message: string;
    switch (e.keyword) {
      case "type":
        message = said(ps, v, `${key} must be ${expectedTypes(ps.type)}, not ${typeName(v)}.`);
        break;
      case "minimum":
      case "maximum":
      case "exclusiveMinimum":
      case "exclusiveMaximum":
      case "multipleOf":
        message = said(ps, v, `${key} must be ${range(ps)}, not ${short(v)}.`);
        break;
      case "enum":
      case "const": {
        const allowed = (e.keyword === "enum" ? (ps.enum as unknown[]) : [ps.const]).map((x) =>
          String(x),
        );
        const dym = typeof v === "string" ? didYouMean(v, allowed) : "";
        message = said(
          ps,
          v,
          `${key} must be ${allowed.length === 1 ? "" : "one of "}${allowed.map((x) => `"${x}"`).join(", ")}, not ${short(v)}${dym}.`,
          dym,
        );
        break;
      }
      case "minLength":
        message = said(ps, v, `${key} must be a non-empty string.`);
        break;
      case "minItems":
        message = said(ps, v, `${key} must be a non-empty list.`);
        break;
      case "pattern":
        message = said(ps, v, `${key} must match ${String(ps.pattern)}, not ${short(v)}.`);
        break;
      default:
        message = said(ps, v, `${key} ${e.message ?? "is not valid"}.`);
    }
    out.push({ kind: "invalid_value", path, at: path, atKey: false, message });
  }
  return out;
}
