#!/usr/bin/env node
/**
 * Bundles `warden run`'s Node agent (dist/trace/agent/agent.js and everything it imports: the
 * policy layer, yaml, picomatch, ...) into one CommonJS file, dist/trace/agent/agent.bundle.cjs,
 * which the preload loads in every traced Node process. Loading ~180 ES modules one by one
 * (resolve, read, compile, link each) was most of a traced process's start: one file loads in
 * about a third of the time (bench/HISTORY.md, 14:40 UTC entry).
 *
 * `import.meta.url` has no meaning in a CommonJS bundle: each use is replaced with the URL of
 * the module it was written in (relative to the bundle at run time), so `new URL("./x",
 * import.meta.url)` and `createRequire(import.meta.url)` find what they found before.
 *
 *   node scripts/bundle-agent.mjs      (run by scripts/build.mjs after tsc)
 *
 * Then V8's code cache for the bundle (agent.bundle.cjs.cache, made by the preload's own
 * `writeBundleCache` in a Node process of its own): compiling the bundle was most of what a traced
 * process paid before its first line; the preload loads the cache with it.
 *
 * Without esbuild (a production install) nothing is bundled and the preload loads agent.js.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEsbuild, metaUrlPlugin } from "./bundle-common.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const AGENT = join(ROOT, "dist", "trace", "agent");
export const BUNDLE = join(AGENT, "agent.bundle.cjs");

/** `__wardenUrl("../../policy/x.js")`: the URL that module's `import.meta.url` was. */
const BANNER =
  'const __wardenUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;';

export async function bundleAgent() {
  const esbuild = await loadEsbuild("the Node agent");
  if (esbuild === undefined) return false;
  await esbuild.build({
    entryPoints: [join(AGENT, "agent.js")],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    banner: { js: BANNER },
    plugins: [metaUrlPlugin(BUNDLE)],
    logLevel: "warning",
  });
  // In a process of its own (the cache is made where the bundle's top level ran), not traced.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("WARDEN_TRACE_")),
  );
  const made = spawnSync(
    process.execPath,
    ["-e", `require(${JSON.stringify(join(AGENT, "preload.cjs"))}).writeBundleCache()`],
    { env, stdio: ["ignore", "inherit", "inherit"] },
  );
  if (made.status !== 0)
    throw new Error(`the agent's code cache was not made (exit ${made.status})`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleAgent();
