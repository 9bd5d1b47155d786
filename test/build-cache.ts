/**
 * What the test builds share (test/guards/build.ts, c-build.ts, test/hosted/build.ts): things
 * built from source at test time are kept under test/.build/, named by the hash of their
 * sources and toolchain, so a second run (or CI on the same machine) reuses them; a build is
 * written aside and renamed, so test files running in parallel never see half a file.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** sha256 (16 hex digits) of a salt (toolchain versions) and the files' bytes. */
export function hashOf(files: readonly string[], salt: string): string {
  const h = createHash("sha256").update(salt);
  for (const f of files) h.update(readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

/** The installed version of an npm package (part of a cache key). */
export function version(pkg: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

/** The C compiler for wasm32-wasi: $WASI_CLANG, else clang. */
export const CLANG = process.env.WASI_CLANG || "clang";

/** `clang --version` (part of a cache key), or undefined when there is no clang at all. */
export const clangVersion: string | undefined = (() => {
  const r = spawnSync(CLANG, ["--version"], { encoding: "utf8" });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
  return r.stdout ?? "";
})();

/** Why C examples cannot be built here (no clang at all), or undefined. */
export function clangMissing(what: string): string | undefined {
  return clangVersion === undefined
    ? `${what} skipped: "${CLANG}" is not installed (Debian: apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32, as .ci/apt-deps does; or set WASI_CLANG)`
    : undefined;
}

/**
 * `out`, built by running an example's build.mjs (a real user's command, with the output path
 * as its argument) unless it exists. The build writes into a private folder first (with what
 * it puts beside its output, e.g. the WIT source); those files are then renamed into place,
 * `out` last, so a reader that sees `out` sees everything.
 */
export function runBuildOnce(buildScript: string, out: string, timeoutMs: number): string {
  if (existsSync(out)) return out;
  const tmp = join(dirname(out), `.tmp-${process.pid}-${basename(out)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(process.execPath, [buildScript, join(tmp, basename(out))], {
      cwd: ROOT,
      stdio: "pipe",
      timeout: timeoutMs,
    });
    const files = readdirSync(tmp).sort(
      (a, b) => Number(a === basename(out)) - Number(b === basename(out)),
    );
    for (const f of files) renameSync(join(tmp, f), join(dirname(out), f));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
