#!/usr/bin/env node
// Build the C file tool into a component: node build.mjs [out.wasm]
//
// 1. clang --target=wasm32-wasi compiles files.c against wasi-libc into a core module (a
//    reactor: no main); its file calls are WASI preview 1 imports (wasi_snapshot_preview1).
// 2. jco's componentEmbed adds the world warden:files/files-tool (files.wit) as the module's
//    component-type metadata; componentNew wraps it into a component, with jco's preview 1
//    reactor adapter turning those imports into WASI 0.2 ones (wasi:filesystem, wasi:cli...).
// 3. files.wit is copied beside the output: `warden serve` reads it for the tools' types and
//    descriptions.
//
// Compiler: $WASI_CLANG, else `clang` on PATH (Debian: apt-get install clang lld wasi-libc
// libclang-rt-dev-wasm32).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "files.wasm");
const clang = process.env.WASI_CLANG || "clang";
const tmp = mkdtempSync(join(tmpdir(), "warden-c-files-"));
try {
  const core = join(tmp, "files.core.wasm");
  try {
    execFileSync(
      clang,
      [
        "--target=wasm32-wasi",
        "-mexec-model=reactor", // no main: the exports are called one by one
        "-O2",
        "-std=c11",
        "-Wall",
        "-Werror",
        "-Wl,--strip-all",
        "-o",
        core,
        join(here, "files.c"),
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
  const embedded = await componentEmbed({
    binary: bytes,
    witSource: readFileSync(join(here, "files.wit"), "utf8"),
    world: "files-tool",
  });
  // jco ships the preview 1 -> WASI 0.2 adapter (the reactor flavour: no _start).
  const adapter = readFileSync(
    new URL(
      "../lib/wasi_snapshot_preview1.reactor.wasm",
      import.meta.resolve("@bytecodealliance/jco"),
    ),
  );
  const component = await componentNew(embedded, [["wasi_snapshot_preview1", adapter]]);
  writeFileSync(out, component);
  const wit = join(dirname(out), `${basename(out, ".wasm")}.wit`);
  if (wit !== join(here, "files.wit")) copyFileSync(join(here, "files.wit"), wit);
  process.stdout.write(
    `${relative(process.cwd(), out)}: ${component.length} bytes (core module ${bytes.length})\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
