/**
 * Build the example rule plugins (examples/rules/plugins: AssemblyScript fraud-scorer, C
 * spam-detector) and the hostile WAT plugins at test time into test/.build/rules/<hash>/,
 * cached by the hash of their sources and of the toolchains: a second run reuses them.
 * clang is a system package (.ci/apt-deps): without it the C plugin is left out and
 * CLANG_MISSING says why.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { watToWasm } from "../sandbox/helpers.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SRC = join(ROOT, "examples", "rules", "plugins");
const CLANG = process.env.WASI_CLANG || "clang";

const clang = spawnSync(CLANG, ["--version"], { encoding: "utf8" });
export const CLANG_MISSING =
  (clang.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
    ? `"${CLANG}" is not installed (apt-get install -y clang lld, as .ci/apt-deps does)`
    : undefined;

/** Hostile plugins: a loop (timeout), a trap, and output that is not the ABI's. */
const HOSTILE: Record<string, string> = {
  looper: `(module (memory (export "memory") 1)
    (func (export "evaluate") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0)))`,
  trapper: `(module (memory (export "memory") 1)
    (func (export "evaluate") (param i32 i32) (result i64) unreachable))`,
  liar: `(module (memory (export "memory") 1) (data (i32.const 16) "{\\"verdict\\":\\"yes\\"}")
    (func (export "evaluate") (param i32 i32) (result i64)
      (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 17))))`,
};

let built: Promise<string> | undefined;

/** The folder holding fraud-scorer.wasm, spam-detector.wasm (with clang), looper, trapper, liar. */
export function pluginDir(): Promise<string> {
  built ??= (async () => {
    const h = createHash("sha256").update(clang.stdout ?? "none");
    const asc = JSON.parse(
      readFileSync(join(ROOT, "node_modules", "assemblyscript", "package.json"), "utf8"),
    ) as { version: string };
    h.update(asc.version).update(JSON.stringify(HOSTILE));
    for (const f of ["build.mjs", "fraud-scorer/index.ts", "spam-detector/detector.c"])
      h.update(readFileSync(join(SRC, f)));
    const dir = join(ROOT, "test", ".build", "rules", h.digest("hex").slice(0, 16));
    if (existsSync(join(dir, "done"))) return dir;
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const only = CLANG_MISSING === undefined ? [] : ["--only", "as"];
    execFileSync(process.execPath, [join(SRC, "build.mjs"), tmp, ...only], {
      cwd: ROOT,
      stdio: "pipe",
      timeout: 120_000,
    });
    for (const [name, wat] of Object.entries(HOSTILE))
      writeFileSync(join(tmp, `${name}.wasm`), await watToWasm(wat, `${name}.wat`));
    writeFileSync(join(tmp, "done"), "");
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another worker built it first
    }
    return dir;
  })();
  return built;
}
