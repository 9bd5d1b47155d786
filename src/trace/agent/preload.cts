/**
 * The agent's CommonJS entry, for `NODE_OPTIONS=--require <this file>`: it runs before user
 * code (CommonJS or ESM) and loads the agent synchronously: its one-file bundle
 * (agent.bundle.cjs, scripts/bundle-agent.mjs: a third of the start of ~180 ES modules), or
 * agent.js where the build made none (Node's require of ES modules).
 * Not in the agent's own flusher thread (Node runs `--require` in every worker: loading the
 * policy layer there again cost each traced process about as much as in its main thread), nor
 * where no run is being traced.
 *
 * Compiling the 1.4 MB bundle was most of what every traced process paid before its first line
 * ran: the build also writes V8's code cache for it (agent.bundle.cjs.cache: the bundle's
 * SHA-256, then the cache), which this loads with the bundle when the hash matches the bundle's
 * bytes (V8 itself checks only its length, its version and flags: it rejects a cache made by
 * another Node, and the bundle is then compiled as without one).
 */
const { isMainThread, workerData } =
  require("node:worker_threads") as typeof import("node:worker_threads");

/** The bundle wrapped as CommonJS wraps a module (the build and the load must agree). */
const HEAD = "(function (exports, require, module, __filename, __dirname) {";
const TAIL = "\n})";
const HASH = 32;

type AgentModule = { start(): void };

/** The bundle's code, compiled with `cachedData` (undefined: without a cache). */
function compileBundle(
  file: string,
  src: Buffer,
  cachedData: Buffer | undefined,
): { script: import("node:vm").Script; run(): AgentModule } {
  const vm = require("node:vm") as typeof import("node:vm");
  const { createRequire } = require("node:module") as typeof import("node:module");
  const { dirname } = require("node:path") as typeof import("node:path");
  const script = new vm.Script(`${HEAD}${src.toString("utf8")}${TAIL}`, {
    filename: file,
    cachedData,
  });
  return {
    script,
    run: () => {
      const mod = { exports: {} as AgentModule };
      const fn = script.runInThisContext() as (...a: unknown[]) => void;
      fn(mod.exports, createRequire(file), mod, file, dirname(file));
      return mod.exports;
    },
  };
}

function sha256(b: Buffer): Buffer {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return createHash("sha256").update(b).digest();
}

/** The bundle, with its code cache where there is one for these bytes; undefined: no bundle. */
function loadBundle(): AgentModule | undefined {
  const fs = require("node:fs") as typeof import("node:fs");
  const file = `${__dirname}/agent.bundle.cjs`;
  let src: Buffer;
  try {
    src = fs.readFileSync(file);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
  let cachedData: Buffer | undefined;
  try {
    const c = fs.readFileSync(`${file}.cache`);
    if (c.length > HASH && c.subarray(0, HASH).equals(sha256(src))) cachedData = c.subarray(HASH);
  } catch {
    // no cache: compiled as without one
  }
  return compileBundle(file, src, cachedData).run();
}

/**
 * Build time (scripts/bundle-agent.mjs, in a Node process of its own): write the bundle's code
 * cache, made after its top level ran (the functions that compiled are in it too).
 */
function writeBundleCache(): void {
  const fs = require("node:fs") as typeof import("node:fs");
  const file = `${__dirname}/agent.bundle.cjs`;
  const src = fs.readFileSync(file);
  const c = compileBundle(file, src, undefined);
  c.run();
  fs.writeFileSync(`${file}.cache`, Buffer.concat([sha256(src), c.script.createCachedData()]));
}

module.exports = { writeBundleCache };

/** `FLUSHER_MARK` of wire.ts (kept literal: importing it would load the agent's modules). */
const flusher =
  !isMainThread && (workerData as Record<string, unknown> | null)?.__wardenTraceFlusher === true;
if (!flusher && process.env.WARDEN_TRACE_URL !== undefined) {
  const agent = loadBundle() ?? (require("./agent.js") as AgentModule);
  agent.start();
}
