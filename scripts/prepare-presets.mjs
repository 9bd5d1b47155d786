#!/usr/bin/env node
/**
 * Prepares `warden run`'s built-in presets at build time (run by scripts/build.mjs after tsc):
 * each compiled once here, and what a run needs of it (the text handed to traced processes, its
 * sections, its warnings, the SHA-256 of its text) written to
 * dist/trace/policy/presets.prepared.json, so that `warden run -- npm ci` neither loads the YAML
 * composer's work nor compiles at start (src/cli/run-policy.ts). A preset that does not compile
 * fails the build.
 *
 *   node scripts/prepare-presets.mjs
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const dist = (p) => pathToFileURL(`${ROOT}dist/${p}`).href;

export async function preparePresets() {
  const { PRESET_NAMES, presetPolicy } = await import(dist("trace/policy/presets.js"));
  const { readyPolicy, PREPARED } = await import(dist("cli/run-policy.js"));
  const out = {};
  for (const name of PRESET_NAMES) {
    const { text, file } = presetPolicy(name);
    const r = readyPolicy(text, file);
    if (!r.ok)
      throw new Error(`preset ${name} does not compile: ${JSON.stringify(r.errors[0] ?? {})}`);
    out[name] = r.entry;
  }
  writeFileSync(PREPARED, `${JSON.stringify(out)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await preparePresets();
