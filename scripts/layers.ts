/**
 * The import direction between layers (see ARCHITECTURE.md). A layer may import itself and the
 * layers listed for it, nothing else. `src/index.ts` (the public API) may import every layer.
 * Checked by test/architecture/layers.test.ts.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";

export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: [],
  audit: ["core"],
  policy: ["core"],
  identity: ["core"],
  state: ["core", "audit"],
  sandbox: ["core"],
  guards: ["core", "sandbox", "policy"],
  rules: ["core", "sandbox", "policy"],
  hosted: ["core", "audit", "policy", "sandbox"],
  telemetry: ["core", "audit"],
  mcp: ["core", "audit", "policy", "sandbox", "guards", "hosted", "identity", "state", "telemetry"],
  trace: ["core", "audit", "policy"],
  admin: ["core", "audit", "policy", "sandbox", "rules", "state"],
  cli: [
    "core",
    "audit",
    "policy",
    "sandbox",
    "guards",
    "rules",
    "hosted",
    "mcp",
    "trace",
    "admin",
    "identity",
    "state",
    "telemetry",
  ],
};

export interface Violation {
  file: string;
  line: number;
  from: string;
  to: string;
  specifier: string;
}

const IMPORT_RE =
  /^[ \t]*(?:import|export)\b[^'"`;]*?from\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)|^[ \t]*import\s*["']([^"']+)["']/gm;

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
}

function layerOf(srcDir: string, file: string): string | null {
  const rel = relative(srcDir, file);
  if (rel.startsWith("..")) return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : null; // files at src/ root (index.ts) are the public API
}

/** Every import in `srcDir` that goes against LAYERS, or into an unknown layer. */
export function checkLayers(srcDir: string): Violation[] {
  const root = resolve(srcDir);
  const files: string[] = [];
  walk(root, files);
  const violations: Violation[] = [];
  for (const file of files) {
    const from = layerOf(root, file);
    if (from === null) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec?.startsWith(".")) continue;
      const target = resolve(file, "..", spec);
      const to = layerOf(root, target);
      const start = m.index + (m[0].length - m[0].trimStart().length);
      const line = text.slice(0, start).split("\n").length;
      if (to === null) {
        violations.push({
          file: relative(root, file),
          line,
          from,
          to: "(src root)",
          specifier: spec,
        });
        continue;
      }
      if (to === from) continue;
      const allowed = LAYERS[from];
      if (!allowed?.includes(to)) {
        violations.push({ file: relative(root, file), line, from, to, specifier: spec });
      }
    }
  }
  return violations;
}
