/** The policy sections a file gives (top level or under `permissions`): only those are judged. */
import { parse } from "yaml";

export function sectionsOf(text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [];
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return [];
  const d = doc as Record<string, unknown>;
  const keys = new Set(
    Object.keys(d).filter((k) => k !== "version" && k !== "description" && k !== "permissions"),
  );
  const p = d.permissions;
  if (p !== null && typeof p === "object" && !Array.isArray(p))
    for (const k of Object.keys(p)) keys.add(k);
  return [...keys].sort();
}
