#!/usr/bin/env node
/**
 * Bundles `warden run`'s entry (dist/cli/run-main.js and everything it imports: commander, the
 * trace layer, the policy layer, yaml, ...) into one ES module, dist/cli/run.bundle.mjs, which
 * dist/cli/main.js loads when the command is `run` (as the Node agent is one file:
 * scripts/bundle-agent.mjs). The command table (dist/cli/commands/index.js) stays outside:
 * `warden run` offers only `run`, and the other commands are not in the bundle.
 *
 * `import.meta.url` is replaced in every bundled module with that module's own URL, so
 * `new URL("./x", import.meta.url)` and `createRequire(import.meta.url)` find what they found
 * before; CommonJS packages get a `require` of their own.
 *
 *   node scripts/bundle-cli.mjs      (run by scripts/build.mjs after tsc)
 *
 * Without esbuild (a production install) nothing is bundled and main.js loads the modules.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEsbuild, metaUrlPlugin } from "./bundle-common.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = join(ROOT, "dist", "cli");
export const BUNDLE = join(CLI, "run.bundle.mjs");

const BANNER = [
  'import { createRequire as __wardenRequire } from "node:module";',
  "const require = __wardenRequire(import.meta.url);",
  "const __wardenUrl = (rel) => new URL(rel, import.meta.url).href;",
].join("\n");

/** The command table stays a module of its own (it would pull every command in). */
const commandTable = {
  name: "command-table",
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/index\.js$/ }, (a) =>
      a.importer === join(CLI, "program.js")
        ? { path: "./commands/index.js", external: true }
        : undefined,
    );
  },
};

export async function bundleCli() {
  const esbuild = await loadEsbuild("warden run");
  if (esbuild === undefined) return false;
  await esbuild.build({
    entryPoints: [join(CLI, "run-main.js")],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: BANNER },
    plugins: [metaUrlPlugin(BUNDLE), commandTable],
    logLevel: "warning",
  });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli();
