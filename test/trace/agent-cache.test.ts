// The agent's code cache (src/trace/agent/preload.cts): the build writes V8's cache for the
// bundle beside it, and the preload uses it only for the very bytes it was made from. V8 itself
// takes a cache made for another source of the same length and runs the old code: shown here,
// with real processes and real V8 caches, so the hash check is what stands between a bundle
// rebuilt or replaced and stale code.
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers.js";

const PRELOAD = resolve("dist/trace/agent/preload.cjs");
const HEAD = "(function (exports, require, module, __filename, __dirname) {";

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("warden run: the agent's code cache", () => {
  it("the built agent has a cache V8 takes for its bundle", () => {
    const file = resolve("dist/trace/agent/agent.bundle.cjs");
    const cache = readFileSync(`${file}.cache`);
    const s = new Script(`${HEAD}${readFileSync(file, "utf8")}\n})`, {
      filename: file,
      cachedData: cache.subarray(32),
    });
    expect(s.cachedDataRejected).toBe(false);
  });

  it("is not used for a bundle it was not made from, even of the same length", () => {
    const dir = tempDir();
    copyFileSync(PRELOAD, join(dir, "preload.cjs"));
    const bundle = join(dir, "agent.bundle.cjs");
    writeFileSync(bundle, 'console.log("OLD!"); exports.start = () => {};\n');
    node(["-e", 'require("./preload.cjs").writeBundleCache()'], dir);
    writeFileSync(bundle, 'console.log("NEW!"); exports.start = () => {};\n');
    // V8 alone: the stale cache is taken and the old code runs.
    const cache = readFileSync(`${bundle}.cache`).subarray(32);
    const stale = new Script(`${HEAD}${readFileSync(bundle, "utf8")}\n})`, {
      filename: bundle,
      cachedData: cache,
    });
    expect(stale.cachedDataRejected).toBe(false);
    const out = spawnSync(
      process.execPath,
      [
        "-e",
        `const vm = require("vm"); const fs = require("fs");
new vm.Script(${JSON.stringify(HEAD)} + fs.readFileSync(${JSON.stringify(bundle)}, "utf8") + "\\n})",
  { filename: ${JSON.stringify(bundle)}, cachedData: fs.readFileSync(${JSON.stringify(`${bundle}.cache`)}).subarray(32) })
  .runInThisContext()({}, require, {}, "", "");`,
      ],
      { encoding: "utf8" },
    );
    expect(out.stdout.trim()).toBe("OLD!");
    // The preload: the hash differs, the cache is not used, the bundle as it is runs.
    expect(node(["-r", "./preload.cjs", "-e", "0"], dir, { WARDEN_TRACE_URL: "x" }).trim()).toBe(
      "NEW!",
    );
  });
});
