/**
 * Build examples/guards/c-pattern-guard (C, clang --target=wasm32-wasi, canonical ABI by hand,
 * componentEmbed + componentNew) at test time into test/.build/guards/, cached by the hash of
 * its sources and of the toolchain. The compiler is a system package (.ci/apt-deps installs it):
 * when no clang exists at all the C tests are skipped with CLANG_MISSING as the reason; a clang
 * that exists but cannot build the guard fails the tests.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { BUILD, ROOT } from "./build.js";

const CLANG = process.env.WASI_CLANG || "clang";
const SRC = join(ROOT, "examples", "guards", "c-pattern-guard");
const SOURCES = ["guard.c", "settings.c", "settings.h", "wg_abi.c", "wg_abi.h", "build.mjs"];

function clangVersion(): string | undefined {
  const r = spawnSync(CLANG, ["--version"], { encoding: "utf8" });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
  return r.stdout ?? "";
}

const version = clangVersion();

/** Why the C guard cannot be built here (no clang at all), or undefined. */
export const CLANG_MISSING =
  version === undefined
    ? `C guard tests skipped: "${CLANG}" is not installed (Debian: apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32, as .ci/apt-deps does; or set WASI_CLANG)`
    : undefined;

/** The C pattern guard as a component (built once per source hash). */
export function cPatternGuard(): string {
  if (version === undefined) throw new Error(CLANG_MISSING);
  const h = createHash("sha256").update(version);
  for (const f of [...SOURCES.map((s) => join(SRC, s)), join(ROOT, "wit", "security-guard.wit")])
    h.update(readFileSync(f));
  const out = join(BUILD, `c-pattern-guard-${h.digest("hex").slice(0, 16)}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(BUILD, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(process.execPath, [join(SRC, "build.mjs"), tmp], {
    cwd: ROOT,
    stdio: "pipe",
    timeout: 120_000,
  });
  renameSync(tmp, out);
  return out;
}
