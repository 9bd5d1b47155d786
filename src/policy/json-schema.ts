/**
 * One way to validate config files: the JSON Schemas shipped in `schemas/` (the same files
 * editors read through yaml-language-server), compiled once by ajv, with every failure turned
 * into a `SchemaProblem` that names the key and says what to write. Callers locate problems
 * in their own source (the `yaml` document's node ranges, or the JSON position index) and give
 * them their own stable codes; semantic checks a schema cannot express stay in their code,
 * after this pass.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { byJson, byRef as generated } from "./generated/validators.js";
import { schemaProblems } from "./schema-problems.js";
import type { Path } from "./source.js";

/** Where the shipped schemas' `$id`s live: names, not addresses (`.invalid` never resolves). */
export const SCHEMA_BASE = "https://warden.invalid/schemas/";

/** The shipped schema files, by name (`schemas/<name>.schema.json`). */
export type ShippedSchema = "warden" | "policy" | "guards" | "policy-test" | "rules";
const SHIPPED: readonly ShippedSchema[] = ["guards", "policy", "policy-test", "rules", "warden"];

/** What a schema said no to: `kind` picks the caller's code; `at` is where to point. */
export interface SchemaProblem {
  readonly kind: "unknown_key" | "missing_key" | "invalid_value";
  /** The key the problem is about (for a missing key: the key that is missing). */
  readonly path: Path;
  /** Where to point: the value (or, with `atKey`, the key) at this path. */
  readonly at: Path;
  readonly atKey: boolean;
  readonly message: string;
}

/**
 * The ajv options; scripts/gen-validators.mjs compiles the shipped schemas at build time with
 * the same ones (a test compares them). inlineRefs: false: a definition used in several places
 * (a rule entry, a constraint) is compiled once, not once per place.
 */
export const AJV_OPTIONS = {
  allErrors: true,
  verbose: true,
  strictTypes: false,
  allowUnionTypes: true,
  inlineRefs: false,
} as const;
/** Annotations editors read (VS Code / yaml-language-server); ajv only carries them. */
export const ANNOTATIONS = ["errorMessage", "deprecationMessage", "markdownDescription"] as const;

let ajv: Ajv | undefined;

/**
 * The one ajv instance, with the shipped schemas added, for the schemas a host registers at
 * run time only (`registerPermissionType`, `S`): the shipped ones were compiled at build time
 * (./generated/validators.ts), so a start that needs nothing else never loads ajv.
 */
function instance(): Ajv {
  if (ajv !== undefined) return ajv;
  const { Ajv: AjvClass } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
  const a = new AjvClass({ ...AJV_OPTIONS });
  for (const keyword of ANNOTATIONS) a.addKeyword({ keyword, schemaType: "string" });
  for (const name of SHIPPED) a.addSchema(readShippedSchema(name));
  ajv = a;
  return a;
}

/** The parsed text of `schemas/<name>.schema.json` (from src/<layer>/ and dist/<layer>/ alike). */
export function readShippedSchema(name: ShippedSchema): Record<string, unknown> {
  const url = new URL(`../../schemas/${name}.schema.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Record<string, unknown>;
}

/** `$id` of a shipped schema, plus an optional `#/definitions/...` fragment. */
export function shippedRef(name: ShippedSchema, fragment = ""): string {
  return `${SCHEMA_BASE}${name}.schema.json${fragment}`;
}

const compiled = new WeakMap<object, ValidateFunction>();

/** A validator for `schema` (a JSON Schema object, or a shipped schema's ref), compiled once. */
export function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (v === undefined) {
    v = precompiled(schema) ?? instance().compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/**
 * The build-time validator of `schema`: `{ $ref }` to a shipped schema or definition, or the
 * policy top of the built-in sections (compile.ts); undefined for anything a host registers.
 */
export function precompiled(schema: object): ValidateFunction | undefined {
  const keys = Object.keys(schema);
  const ref = (schema as { $ref?: unknown }).$ref;
  if (keys.length === 1 && typeof ref === "string") {
    if (!Object.hasOwn(generated, ref)) return;
    return (generated as unknown as Record<string, ValidateFunction>)[ref];
  }
  const text = JSON.stringify(schema);
  if (!Object.hasOwn(byJson, text)) return;
  return (byJson as unknown as Record<string, ValidateFunction>)[text];
}

const byRef = new Map<string, ValidateFunction>();

/** The validator of a shipped schema (or one of its definitions), compiled once. */
export function shippedValidator(name: ShippedSchema, fragment = ""): ValidateFunction {
  const ref = shippedRef(name, fragment);
  let v = byRef.get(ref);
  if (v === undefined) {
    v = validator({ $ref: ref });
    byRef.set(ref, v);
  }
  return v;
}

/**
 * Check `value` against `validate`; problems are sorted as ajv found them, one per value
 * (the first said), each unknown and missing key on its own. `base` prefixes every path.
 */
export function checkSchema(
  validate: ValidateFunction,
  value: unknown,
  base: Path = [],
): SchemaProblem[] {
  if (validate(value)) return [];
  return schemaProblems((validate.errors ?? []) as ErrorObject[], value, base);
}

/** A copy of `value` without the keys whose value is null (`key:` with nothing after it). */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out;
}
