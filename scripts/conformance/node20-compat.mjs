// Preload (`node --import ./node20-compat.mjs`) that lets @modelcontextprotocol/conformance run on
// Node 20. The suite's bundle imports `globSync` from "fs", a Node 22 API that Node 20 lacks, so
// loading fails with "The requested module 'fs' does not provide an export named 'globSync'".
// A named ESM import of a builtin cannot be patched at run time, so a resolve hook hands the
// suite (and only the suite) a copy of "fs" that adds globSync. Nothing else in the suite needs
// Node 22 (checked against 0.1.16's bundle: all 32 server scenarios run). On Node >= 22 this file
// does nothing.
import fs from "node:fs";
import { register } from "node:module";

if (typeof fs.globSync !== "function") {
  register("./node20-hook.mjs", import.meta.url);
}
