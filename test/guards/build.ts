/**
 * Build the guards the tests use, from source, at test time, into test/.build/guards/ (cached by
 * the hash of their sources and of the toolchain, so a second run reuses them):
 * - examples/guards/js-pattern-guard (JavaScript, componentize-js: ~25 s the first time);
 * - examples/guards/as-secrets-guard (AssemblyScript, JSON ABI);
 * - the hostile WAT fixtures (wabt).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";
import { hashOf, ROOT, runBuildOnce, version } from "../build-cache.js";

export { ROOT };
export const BUILD = join(ROOT, "test", ".build", "guards");
/** Where transpiled components are cached during tests. */
export const CACHE = join(BUILD, "cache");

/** Run an example's build.mjs (a real user's command) once per source hash. */
function buildExample(
  dir: string,
  source: string,
  extra: string[],
  toolchain: string,
  name: string,
): string {
  const src = join(ROOT, "examples", "guards", dir);
  const key = hashOf([join(src, source), join(src, "build.mjs"), ...extra], toolchain);
  return runBuildOnce(join(src, "build.mjs"), join(BUILD, `${name}-${key}.wasm`), 300_000);
}

/** The JavaScript pattern guard as a component. */
export function jsPatternGuard(): string {
  return buildExample(
    "js-pattern-guard",
    "guard.js",
    [join(ROOT, "wit", "security-guard.wit")],
    `componentize-js@${version("@bytecodealliance/componentize-js")}`,
    "pattern-guard",
  );
}

/** The AssemblyScript secrets guard as a JSON ABI core module. */
export function asSecretsGuard(): string {
  return buildExample(
    "as-secrets-guard",
    "guard.ts",
    [],
    `assemblyscript@${version("assemblyscript")}`,
    "secrets-guard",
  );
}

/** A WAT fixture compiled with wabt; returns its path. */
export async function watGuard(name: string): Promise<string> {
  const src = join(ROOT, "test", "guards", "fixtures", `${name}.wat`);
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(src, "utf8"));
  try {
    mod.validate();
    mkdirSync(BUILD, { recursive: true });
    const out = join(BUILD, `${name}.wasm`);
    // Test files run in parallel: write aside, then rename, so no reader sees half a file.
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, new Uint8Array(mod.toBinary({}).buffer));
    renameSync(tmp, out);
    return out;
  } finally {
    mod.destroy();
  }
}
