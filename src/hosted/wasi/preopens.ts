/**
 * The directories a component is given (its preopens), derived from the policies: the literal
 * directory of each storage allow rule (`fs:///srv/data/**` gives /srv/data, seen by the
 * component at the same path, as Wassette does). The host keeps one only when it exists and
 * every policy allows reading or writing the directory itself (`/dir/**` does); every call
 * through it is judged again anyway.
 */
import { isMap, isSeq, parseDocument } from "yaml";

const GLOB = /[*?[\]{}]/;

/** The literal directory part of a storage uri (`fs:///a/b/**` → `/a/b`), or undefined. */
export function literalDir(uri: string): string | undefined {
  const m = /^(?:fs:\/\/|file:\/\/)?(\/.*)$/i.exec(
    uri.startsWith("fs://") && !uri.startsWith("fs:///") ? `fs:///${uri.slice(5)}` : uri,
  );
  if (m === null) return undefined;
  const segs: string[] = [];
  for (const s of m[1]!.split("/")) {
    if (GLOB.test(s)) break;
    if (s !== "") segs.push(s);
  }
  return `/${segs.join("/")}`;
}

/** Candidate preopens from a policy source (Warden's or Wassette's: `storage` at the top or under `permissions`). */
export function storageDirs(source: string): string[] {
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(source);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const at of [
    ["storage", "allow"],
    ["permissions", "storage", "allow"],
  ]) {
    const list = doc.getIn(at, true);
    if (!isSeq(list)) continue;
    for (const item of list.items) {
      const uri = isMap(item)
        ? item.get("uri")
        : typeof item === "object" && item !== null && "value" in item
          ? (item as { value: unknown }).value
          : undefined;
      if (typeof uri !== "string") continue;
      const dir = literalDir(uri);
      if (dir !== undefined && dir !== "/" && !out.includes(dir)) out.push(dir);
    }
  }
  return out;
}
