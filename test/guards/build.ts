/**
 * Build the guards the tests use, from source, at test time, into test/.build/guards/ (cached by
 * the hash of their sources and of the toolchain, so a second run reuses them):
 * - examples/guards/js-pattern-guard (JavaScript, componentize-js: ~25 s the first time);
 * - examples/guards/as-secrets-guard (AssemblyScript, JSON ABI);
 * - the hostile WAT fixtures (wabt).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BUILD = join(ROOT, "test", ".build", "guards");
/** Where transpiled components are cached during tests. */
export const CACHE = join(BUILD, "cache");

function hashOf(files: string[], salt: string): string {
  const h = createHash("sha256").update(salt);
  for (const f of files) h.update(readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

function version(pkg: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

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
  const out = join(BUILD, `${name}-${key}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(BUILD, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(process.execPath, [join(src, "build.mjs"), tmp], {
    cwd: ROOT,
    stdio: "pipe",
    timeout: 300_000,
  });
  renameSync(tmp, out);
  return out;
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
