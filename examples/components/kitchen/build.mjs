#!/usr/bin/env node
// Build kitchen.js into a component: node build.mjs [out.wasm]
// The WIT source (kitchen.wit) must sit beside the component for `warden serve`: it defines the
// exported interface's types and the doc comments that become tool descriptions.
import { copyFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "@bytecodealliance/componentize-js";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "kitchen.wasm");
// componentize-js reads the WIT through WASI: let it see the file system.
_setPreopens({ "/": "/" });
const { component } = await componentize({
  sourcePath: join(here, "kitchen.js"),
  witPath: join(here, "kitchen.wit"),
  worldName: "kitchen",
  // No WASI at all: the tools compute, they reach nothing.
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});
await writeFile(out, component);
const wit = join(dirname(out), `${basename(out, ".wasm")}.wit`);
if (wit !== join(here, "kitchen.wit")) await copyFile(join(here, "kitchen.wit"), wit);
process.stdout.write(`${relative(process.cwd(), out)}: ${component.length} bytes\n`);
