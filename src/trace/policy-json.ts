/**
 * The policy a traced process compiles, as JSON laid out on the lines of the YAML it was
 * written in: every key and value on the line it had, so each rule is named by the same
 * `file:line`. The policy layer reads JSON with `JSON.parse` and one position scan instead of
 * composing YAML (most of a traced process's policy compile: bench/HISTORY.md, 15:40 UTC).
 * Checked before it is used: the same value, and every value on its line; otherwise (a value
 * JSON cannot hold, such as .inf) the YAML text is handed over as it is.
 */
import { isDeepStrictEqual } from "node:util";
import { type Path, PolicySource } from "../policy/source.js";

/** The JSON text, or undefined when the YAML's lines cannot be kept. */
export function policyAsJson(text: string, file: string): string | undefined {
  const yaml = new PolicySource(text, file);
  if (yaml.reader === "json" || yaml.errors.length > 0) return undefined;
  const root = yaml.value;
  if (root === null || typeof root !== "object" || Array.isArray(root)) return undefined;
  let out = "";
  let line = 1;
  let ok = true;
  /** Newlines up to `want`: a node can only move down, never up. */
  const to = (want: number) => {
    if (want < line) ok = false;
    while (line < want) {
      out += "\n";
      line++;
    }
  };
  const emit = (v: unknown, path: Path): void => {
    to(yaml.pos(path).line);
    if (v === null || typeof v !== "object") {
      const s = JSON.stringify(v);
      if (s === undefined) ok = false;
      out += s;
      return;
    }
    if (Array.isArray(v)) {
      out += "[";
      v.forEach((x, i) => {
        if (i > 0) out += ",";
        emit(x, [...path, i]);
      });
      out += "]";
      return;
    }
    out += "{";
    let first = true;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === "__proto__") ok = false;
      if (!first) out += ",";
      first = false;
      to(yaml.pos([...path, k], true).line);
      out += `${JSON.stringify(k)}:`;
      emit(x, [...path, k]);
    }
    out += "}";
  };
  emit(root, []);
  if (!ok) return undefined;
  // The same value, read the way the agent will read it, with every value on its line.
  const json = new PolicySource(out, file);
  if (json.reader !== "json" || !isDeepStrictEqual(json.value, root)) return undefined;
  const same = (v: unknown, path: Path): boolean => {
    if (json.pos(path).line !== yaml.pos(path).line) return false;
    if (v === null || typeof v !== "object") return true;
    if (Array.isArray(v)) return v.every((x, i) => same(x, [...path, i]));
    return Object.entries(v as Record<string, unknown>).every(([k, x]) => same(x, [...path, k]));
  };
  return same(root, []) ? out : undefined;
}
