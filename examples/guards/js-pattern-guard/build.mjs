#!/usr/bin/env node
// Build guard.js into a component: node build.mjs [out.wasm]
import { writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "@bytecodealliance/componentize-js";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "pattern-guard.wasm");
// componentize-js reads the WIT through WASI: let it see the file system (preview2-shim 0.26
// grants no directory by default).
_setPreopens({ "/": "/" });
const { component } = await componentize({
  sourcePath: join(here, "guard.js"),
  witPath: join(here, "../../../wit/security-guard.wit"),
  worldName: "security-guard",
  // No WASI at all: a guard gets only what Warden's host interface grants.
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});
await writeFile(out, component);
process.stdout.write(`${relative(process.cwd(), out)}: ${component.length} bytes\n`);
