import { WardenError } from "../core/errors.js";
import type { CheckContext, CompileContext } from "./context.js";
import type { Schema } from "./schema.js";
import type { Path } from "./source.js";
import type { PolicyDecision } from "./types.js";

/** Judges one action kind against the compiled section. Never throws on bad input. */
export type Matcher<C> = (
  compiled: C,
  action: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
) => PolicyDecision;

/**
 * A permission type: a top-level policy key with its schema, compiler and matchers. The
 * engine knows none of them by name; `storage`, `network`, `environment`, `resources`,
 * `runtime` and `mcp` are all registered through this interface.
 */
export interface PermissionType<C = unknown> {
  /** The top-level key in the policy (`mcp`, `storage`...). */
  readonly key: string;
  /** One line for `warden policy check` and the docs. */
  readonly description: string;
  /** Validated before `compile` runs; unknown keys are errors with a "did you mean". */
  readonly schema: Schema;
  /** Compile the (schema-valid) section; report semantic errors through `ctx.error`. */
  compile(value: unknown, ctx: CompileContext, path: Path): C;
  /** Action kinds this type judges. When the section is absent, those kinds are denied. */
  readonly match: Readonly<Record<string, Matcher<C>>>;
  /** Counts for the `policy check` summary. */
  summarize?(compiled: C): Record<string, unknown>;
}

const types = new Map<string, PermissionType<unknown>>();
const kinds = new Map<string, string>();
const RESERVED = new Set(["version", "description", "permissions"]);

/** Register a permission type; throws `invalid_argument` on a clash of key or kind. */
export function registerPermissionType<C>(type: PermissionType<C>): void {
  const fail = (msg: string) =>
    new WardenError("invalid_argument", msg, { category: "usage", details: { key: type.key } });
  if (!/^[a-z][a-z0-9_]*$/.test(type.key)) {
    throw fail(`permission type key "${type.key}" must be snake_case`);
  }
  if (RESERVED.has(type.key) || types.has(type.key)) {
    throw fail(`permission type "${type.key}" is already registered or reserved`);
  }
  for (const kind of Object.keys(type.match)) {
    const owner = kinds.get(kind);
    if (owner !== undefined) {
      throw fail(`action kind "${kind}" of "${type.key}" is already judged by "${owner}"`);
    }
  }
  types.set(type.key, type as PermissionType<unknown>);
  for (const kind of Object.keys(type.match)) kinds.set(kind, type.key);
}

/** Remove a permission type (tests and hosts that reconfigure). Built-ins can be removed too. */
export function unregisterPermissionType(key: string): boolean {
  const t = types.get(key);
  if (t === undefined) return false;
  types.delete(key);
  for (const kind of Object.keys(t.match)) kinds.delete(kind);
  return true;
}

/** The registered types, in registration order. */
export function permissionTypes(): readonly PermissionType<unknown>[] {
  return [...types.values()];
}

export function isRegisteredKind(kind: string): boolean {
  return kinds.has(kind);
}
