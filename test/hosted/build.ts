/**
 * Components the hosted tests serve, built from source at test time into test/.build/hosted/,
 * cached by the hash of their sources and toolchain (a second run reuses them; see
 * ../build-cache.ts):
 * - examples/components/kitchen (JavaScript, componentize-js: every WIT value type);
 * - examples/components/c-files (C, clang --target=wasm32-wasi + wasi-libc, jco's preview 1
 *   adapter: a file tool);
 * - the WAT fixtures (wabt + jco componentEmbed/componentNew: milliseconds), each with its WIT
 *   source beside it as `warden serve` expects.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import wabtInit from "wabt";
import {
  CLANG,
  clangMissing,
  clangVersion,
  hashOf,
  ROOT,
  runBuildOnce,
  version,
} from "../build-cache.js";

export { ROOT };
export const BUILD = join(ROOT, "test", ".build", "hosted");
export const CACHE = join(BUILD, "cache");
const FIXTURES = join(ROOT, "test", "hosted", "fixtures");
const EXAMPLES = join(ROOT, "examples", "components");

/** The kitchen example (JavaScript) as a component, with kitchen.wit beside it. */
export function kitchenComponent(): string {
  const src = join(EXAMPLES, "kitchen");
  const files = ["kitchen.js", "kitchen.wit", "build.mjs"].map((f) => join(src, f));
  const key = hashOf(files, `componentize-js@${version("@bytecodealliance/componentize-js")}`);
  return runBuildOnce(
    join(src, "build.mjs"),
    join(BUILD, `kitchen-${key}`, "kitchen.wasm"),
    600_000,
  );
}

/** Why the C component cannot be built here (no clang at all), or undefined. */
export const C_MISSING = clangMissing("C component tests");

/** The C file tool example as a component, with files.wit beside it. */
export function cFilesComponent(): string {
  if (clangVersion === undefined) throw new Error(C_MISSING);
  const src = join(EXAMPLES, "c-files");
  const files = ["files.c", "files.wit", "build.mjs"].map((f) => join(src, f));
  const key = hashOf(files, `${CLANG}: ${clangVersion} jco@${version("@bytecodealliance/jco")}`);
  return runBuildOnce(join(src, "build.mjs"), join(BUILD, `c-files-${key}`, "files.wasm"), 120_000);
}

/**
 * A WAT fixture as a component of the world of the same name in `<name>.wit`, in its own
 * folder `test/.build/hosted/<name>-<hash>/` (or `into`), with the WIT beside it.
 */
export async function watComponent(name: string, into?: string): Promise<string> {
  const wat = join(FIXTURES, `${name}.wat`);
  const wit = join(FIXTURES, `${name}.wit`);
  const dir =
    into ?? join(BUILD, `${name}-${hashOf([wat, wit], version("@bytecodealliance/jco"))}`);
  const out = join(dir, `${name}.wasm`);
  if (existsSync(out) && existsSync(join(dir, `${name}.wit`))) return out;
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(wat, "utf8"));
  let core: Uint8Array;
  try {
    mod.validate();
    core = new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
  const embedded = await componentEmbed({
    binary: core,
    witSource: readFileSync(wit, "utf8"),
    world: name,
  });
  const component = await componentNew(embedded);
  mkdirSync(dir, { recursive: true });
  copyFileSync(wit, join(dir, `${name}.wit`));
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, component);
  renameSync(tmp, out);
  return out;
}
