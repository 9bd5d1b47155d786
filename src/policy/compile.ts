import { createHash } from "node:crypto";
import { ensureBuiltins } from "./builtins.js";
import { CompileContext } from "./context.js";
import { deepFreeze } from "./freeze.js";
import { checkSchema, validator } from "./json-schema.js";
import { MappedSource } from "./malwi/source.js";
import { translateMalwi } from "./malwi/translate.js";
import { policyDialect } from "./malwi/version.js";
import { CompiledPolicy, type Judge } from "./policy.js";
import { PolicyState } from "./rate-limit.js";
import { type PermissionType, permissionTypes } from "./registry.js";
import { didYouMean, type Schema } from "./schema.js";
import { keyOf, type Path, PolicySource, type SourceText } from "./source.js";
import type { PolicyError } from "./types.js";

export interface CompileOptions {
  /** Name used in errors and in `rule` (`file:line`); defaults to `<policy>`. */
  file?: string;
  /** Rate-limit state to keep (the previous policy's `state`). */
  state?: PolicyState;
  /** What `~` expands to in a malwi policy (default: $HOME). */
  home?: string;
}

export type CompileResult =
  | { ok: true; policy: CompiledPolicy; warnings: readonly PolicyError[] }
  | { ok: false; errors: PolicyError[] };

export const POLICY_VERSIONS = ["1.0"] as const;

function sortErrors(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}

/**
 * Compile a policy (YAML, or JSON, which is YAML) once: validate every key against the
 * registered permission types, report every error with file:line:col, then build and freeze
 * the matchers.
 */
export function compilePolicy(source: string, opts: CompileOptions = {}): CompileResult {
  ensureBuiltins();
  const file = opts.file ?? "<policy>";
  if (typeof source !== "string") {
    return {
      ok: false,
      errors: [
        {
          file,
          line: 1,
          col: 1,
          code: "policy_syntax",
          key: "",
          message: "policy source must be a string",
        },
      ],
    };
  }
  const base = new PolicySource(source, file);
  if (base.errors.length > 0) return { ok: false, errors: sortErrors(base.errors) };
  // A malwi policy (integer version 1) is read as the Warden policy it means (malwi/).
  let src: SourceText = base;
  let dialect: "warden" | "malwi" = "warden";
  const warnings: PolicyError[] = [];
  const which = policyDialect(base, base.value);
  if ("code" in which) {
    base.error(["version"], which.code, which.message);
    return { ok: false, errors: base.errors };
  }
  if (which.dialect === "malwi") {
    dialect = "malwi";
    const t = translateMalwi(base.value as Record<string, unknown>, {
      ...(opts.home !== undefined ? { home: opts.home } : {}),
    });
    // Reported with what the compiler finds in the translated sections (all errors at once).
    for (const e of t.errors) base.error(e.at, e.code, e.message, e.key);
    for (const w of t.warnings) {
      const { line, col } = base.pos(w.at, w.key);
      warnings.push({ file, line, col, code: w.code, key: keyOf(w.at), message: w.message });
    }
    src = new MappedSource(base, t);
  }
  const root = src.value;
  if (root === null || root === undefined) {
    src.error(
      [],
      "policy_missing_key",
      `the policy is empty: write at least 'version: "1.0"' (an empty policy, "permissions: {}", denies everything)`,
    );
    return { ok: false, errors: src.errors };
  }
  const types = permissionTypes();
  // Unknown top-level keys are reported, and the known sections are still checked.
  validate(src, topSchema(types), root, []);
  if (typeof root !== "object" || Array.isArray(root))
    return { ok: false, errors: sortErrors(src.errors) };
  const doc = root as Record<string, unknown>;
  const p = doc.permissions;
  const perms = (p !== null && typeof p === "object" && !Array.isArray(p) ? p : {}) as Record<
    string,
    unknown
  >;

  const version = doc.version === undefined ? "1.0" : String(doc.version);
  if (dialect === "warden" && !(POLICY_VERSIONS as readonly string[]).includes(version)) {
    src.error(
      ["version"],
      "policy_bad_value",
      `version "${version}" is not supported: use "1.0"${didYouMean(version, POLICY_VERSIONS)}`,
    );
  }

  const state = opts.state ?? new PolicyState();
  const ctx = new CompileContext(src, state);
  const sections = new Map<string, unknown>();
  const summary: Record<string, unknown> = {};
  // One call per check: the matcher itself, with its section (no wrapping closure).
  const dispatch = new Map<string, Judge>();
  const given: string[] = [];
  for (const t of types as PermissionType<unknown>[]) {
    const inTop = t.key in doc;
    const inPerms = t.key in perms;
    if (inTop && inPerms) {
      src.error(
        ["permissions", t.key],
        "policy_duplicate",
        `"${t.key}" is given both at the top level and under permissions: keep one`,
        true,
      );
      continue;
    }
    const present = inTop || inPerms;
    if (present) given.push(t.key);
    const path = inTop ? [t.key] : ["permissions", t.key];
    let value = inTop ? doc[t.key] : perms[t.key];
    if (value === null || value === undefined) value = {};
    if (!validate(src, t.schema, value, present ? path : [t.key])) continue;
    let compiled: unknown;
    try {
      compiled = t.compile(value, ctx, path);
    } catch (e) {
      src.error(
        path,
        "policy_extension",
        `permission type "${t.key}" failed to compile: ${(e as Error).message}`,
      );
      continue;
    }
    sections.set(t.key, compiled);
    if (present && t.summarize) summary[t.key] = t.summarize(compiled);
    for (const [kind, match] of Object.entries(t.match)) {
      dispatch.set(kind, Object.freeze({ match: match as Judge["match"], section: compiled }));
    }
  }
  if (src.errors.length > 0) return { ok: false, errors: sortErrors(src.errors) };

  const policy = new CompiledPolicy({
    file,
    revision: createHash("sha256").update(source).digest("hex"),
    version: dialect === "malwi" ? "1" : version,
    dialect,
    warnings: sortErrors(warnings),
    given,
    description: typeof doc.description === "string" ? doc.description : "",
    state,
    rateKeys: ctx.rateKeys,
    sections,
    summary: { rules: ctx.counts, ...summary },
    dispatch,
    rules: ctx.rules,
  });
  return { ok: true, policy: deepFreeze(policy), warnings: policy.warnings };
}

/**
 * The top level for the registered types: version, description, and each type's key, at the
 * top or under `permissions` (their contents are checked by each type's own schema).
 */
const tops = new Map<string, Schema>();
export function topSchema(types: readonly PermissionType<unknown>[]): Schema {
  const keys = types.map((t) => t.key).join(",");
  let s = tops.get(keys);
  if (s === undefined) {
    const sections = Object.fromEntries(types.map((t) => [t.key, {}]));
    s = {
      title: "the policy",
      type: "object",
      additionalProperties: false,
      properties: {
        version: { type: ["string", "number"] },
        description: { type: "string" },
        permissions: { type: "object", additionalProperties: false, properties: sections },
        ...sections,
      },
    };
    tops.set(keys, s);
  }
  return s;
}

/** Check `value` at `path` against a schema; every problem goes to `src`. True when valid. */
function validate(src: SourceText, schema: Schema, value: unknown, path: Path): boolean {
  const problems = checkSchema(validator(schema), value, path);
  for (const p of problems) {
    const code =
      p.kind === "unknown_key"
        ? "policy_unknown_key"
        : p.kind === "missing_key"
          ? "policy_missing_key"
          : "policy_type";
    // Policy messages end without a period (`file:line:col code message`).
    src.error(p.at, code, p.message.replace(/\.$/, ""), p.atKey);
  }
  return problems.length === 0;
}
