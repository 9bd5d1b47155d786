#!/usr/bin/env node
// Build the C guard into a component: node build.mjs [out.wasm]
//
// 1. clang --target=wasm32-wasi compiles guard.c, settings.c and the hand-written canonical ABI
//    glue wg_abi.c into a core module (no WASI imports: only mcp:security-guard/host).
// 2. jco's componentEmbed adds the world mcp:security-guard/security-guard@0.1.0 (../../../wit)
//    as the module's component-type metadata; componentNew wraps it into a component.
//
// Compiler: $WASI_CLANG, else `clang` on PATH (Debian: apt-get install clang lld wasi-libc
// libclang-rt-dev-wasm32).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "pattern-guard-c.wasm");
const clang = process.env.WASI_CLANG || "clang";
const tmp = mkdtempSync(join(tmpdir(), "warden-c-guard-"));
try {
  const core = join(tmp, "guard.core.wasm");
  try {
    execFileSync(
      clang,
      [
        "--target=wasm32-wasi",
        "-O2",
        "-std=c11",
        "-Wall",
        "-Werror",
        "-nostartfiles", // a reactor: no main, no _start
        "-Wl,--no-entry",
        "-Wl,--strip-all",
        "-Wl,-z,stack-size=65536",
        "-o",
        core,
        join(here, "guard.c"),
        join(here, "settings.c"),
        join(here, "wg_abi.c"),
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
  } catch (error) {
    if (error.code === "ENOENT") {
      process.stderr.write(
        `build.mjs: ${clang} not found. Install a clang that targets wasm32-wasi (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32) or set WASI_CLANG.\n`,
      );
      process.exit(127);
    }
    process.stderr.write(`build.mjs: ${clang} failed (see above)\n`);
    process.exit(1);
  }
  const bytes = readFileSync(core);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
  const wasi = imports.filter((i) => !i.module.startsWith("mcp:security-guard/host"));
  if (wasi.length > 0) {
    process.stderr.write(
      `build.mjs: the module imports ${wasi.map((i) => `${i.module}.${i.name}`).join(", ")}; a guard may only import mcp:security-guard/host: do not call libc functions that need WASI (printf, files, clocks, random)\n`,
    );
    process.exit(1);
  }
  const embedded = await componentEmbed({
    binary: bytes,
    witSource: readFileSync(join(here, "../../../wit/security-guard.wit"), "utf8"),
    world: "security-guard",
  });
  const component = await componentNew(embedded);
  writeFileSync(out, component);
  process.stdout.write(
    `${relative(process.cwd(), out)}: ${component.length} bytes (core module ${bytes.length})\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
