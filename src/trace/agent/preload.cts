/**
 * The agent's CommonJS entry, for `NODE_OPTIONS=--require <this file>`: it runs before user
 * code (CommonJS or ESM) and loads the agent synchronously: its one-file bundle
 * (agent.bundle.cjs, scripts/bundle-agent.mjs: a third of the start of ~180 ES modules), or
 * agent.js where the build made none (Node's require of ES modules).
 * Not in the agent's own flusher thread (Node runs `--require` in every worker: loading the
 * policy layer there again cost each traced process about as much as in its main thread), nor
 * where no run is being traced.
 */
const { isMainThread, workerData } =
  require("node:worker_threads") as typeof import("node:worker_threads");
/** `FLUSHER_MARK` of wire.ts (kept literal: importing it would load the agent's modules). */
const flusher =
  !isMainThread && (workerData as Record<string, unknown> | null)?.__wardenTraceFlusher === true;
if (!flusher && process.env.WARDEN_TRACE_URL !== undefined) {
  let agent: { start(): void };
  try {
    agent = require("./agent.bundle.cjs") as { start(): void };
  } catch (e) {
    if ((e as { code?: string }).code !== "MODULE_NOT_FOUND") throw e;
    agent = require("./agent.js") as { start(): void };
  }
  agent.start();
}
