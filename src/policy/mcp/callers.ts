/**
 * `callers` of an allow rule on tools and prompts (docs/policy.md, "Callers"): who the rule
 * allows, as `user:<name>` (the caller: an OAuth token's subject, a static token's name, the
 * stdio caller), `group:<name>` and `scope:<name>` (from the caller's access token). One match
 * is enough; a caller that matches none is not allowed by the rule, and an action that names
 * no caller matches nothing (fail closed).
 */

/** A rule's callers, compiled: one Set per kind. */
export interface Callers {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly scopes: ReadonlySet<string>;
  /** As written, for explanations. */
  readonly text: string;
}

/** Who asks, as the action says (caller, user, groups, scopes). */
export interface Who {
  readonly caller: string;
  /** Who authenticated (the action's `user`, else its caller): what `user:<name>` matches. */
  readonly user: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
}

export const NOBODY: Who = Object.freeze({ caller: "", user: "", groups: [], scopes: [] });

export function compileCallers(list: unknown): Callers | null {
  if (!Array.isArray(list)) return null;
  const users = new Set<string>();
  const groups = new Set<string>();
  const scopes = new Set<string>();
  for (const c of list as string[]) {
    const at = c.indexOf(":");
    const kind = c.slice(0, at);
    const name = c.slice(at + 1);
    if (kind === "user") users.add(name);
    else if (kind === "group") groups.add(name);
    else if (kind === "scope") scopes.add(name);
  }
  return Object.freeze({ users, groups, scopes, text: (list as string[]).join(", ") });
}

export function callersMatch(c: Callers, who: Who): boolean {
  if (who.user !== "" && c.users.has(who.user)) return true;
  for (const g of who.groups) if (c.groups.has(g)) return true;
  for (const s of who.scopes) if (c.scopes.has(s)) return true;
  return false;
}

/** Why `who` is not among `c` (a condition's reason). */
export function notAmong(c: Callers, who: Who): string {
  const as = who.user !== who.caller && who.user !== "" ? ` (user "${who.user}")` : "";
  const name = who.caller === "" ? "an anonymous caller" : `caller "${who.caller}"${as}`;
  const has = [
    who.groups.length > 0 ? `groups: ${who.groups.join(", ")}` : "",
    who.scopes.length > 0 ? `scopes: ${who.scopes.join(" ")}` : "",
  ].filter((x) => x !== "");
  return `${name}${has.length > 0 ? ` (${has.join("; ")})` : ""} is not among callers [${c.text}]`;
}

const strings = (v: unknown): v is readonly string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * The groups and scopes of an action, or why they cannot be read; `user` is who authenticated
 * when the action names it apart from its caller (canonical already).
 */
export function whoOf(
  caller: string,
  a: Readonly<Record<string, unknown>>,
  user = caller,
): Who | string {
  const groups = a.groups ?? [];
  const scopes = a.scopes ?? [];
  if (!strings(groups)) return `"groups" must be a list of strings`;
  if (!strings(scopes)) return `"scopes" must be a list of strings`;
  if (caller === "" && user === "" && groups.length === 0 && scopes.length === 0) return NOBODY;
  return { caller, user, groups, scopes };
}
