/**
 * Build examples/guards/c-pattern-guard (C, clang --target=wasm32-wasi, canonical ABI by hand,
 * componentEmbed + componentNew) at test time into test/.build/guards/, cached by the hash of
 * its sources and of the toolchain. The compiler is a system package (.ci/apt-deps installs it):
 * when no clang exists at all the C tests are skipped with CLANG_MISSING as the reason; a clang
 * that exists but cannot build the guard fails the tests.
 */
import { join } from "node:path";
import { CLANG, clangMissing, clangVersion, hashOf, runBuildOnce } from "../build-cache.js";
import { BUILD, ROOT } from "./build.js";

const SRC = join(ROOT, "examples", "guards", "c-pattern-guard");
const SOURCES = ["guard.c", "settings.c", "settings.h", "wg_abi.c", "wg_abi.h", "build.mjs"];

/** Why the C guard cannot be built here (no clang at all), or undefined. */
export const CLANG_MISSING = clangMissing("C guard tests");

/** The C pattern guard as a component (built once per source hash). */
export function cPatternGuard(): string {
  if (clangVersion === undefined) throw new Error(CLANG_MISSING);
  const key = hashOf(
    [...SOURCES.map((s) => join(SRC, s)), join(ROOT, "wit", "security-guard.wit")],
    `${CLANG}: ${clangVersion}`,
  );
  return runBuildOnce(join(SRC, "build.mjs"), join(BUILD, `c-pattern-guard-${key}.wasm`), 120_000);
}
