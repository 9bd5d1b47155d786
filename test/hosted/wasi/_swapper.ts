/**
 * The attacker of the check-then-open race tests: another process re-pointing a link (or
 * swapping a folder for a link) inside a component's preopen, until the test ends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { deniedFolderTree } from "./helpers.js";

let swapper: ChildProcess | undefined;

/** Kill the swapper started by `startSwapping` (for afterEach). */
export function stopSwapping(): void {
  swapper?.kill("SIGKILL");
  swapper = undefined;
}

/** Re-point `<dir>/d` between `pub` and `team/private` (atomic renames) until killed; says
 * "swapping" on stdout once it has pointed it at the denied folder. */
export const SWAP = `
const { symlinkSync, renameSync, writeSync } = require("node:fs");
const dir = process.argv[1];
let n = 0;
for (;;) {
  const tmp = dir + "/.d" + (n & 1);
  symlinkSync(n++ & 1 ? "team/private" : "pub", tmp);
  renameSync(tmp, dir + "/d");
  if (n === 2) writeSync(1, "swapping\\n");
}`;

/** Swap the folder `<dir>/pub` with a link `pub -> team/private` and back, until killed; says
 * "swapping" on stdout after the first round. */
export const SWAP_DIR = `
const { renameSync, symlinkSync, writeSync } = require("node:fs");
const dir = process.argv[1];
symlinkSync("team/private", dir + "/linkpub");
for (let n = 1; ; n++) {
  try {
    renameSync(dir + "/pub", dir + "/pub.away");
    renameSync(dir + "/linkpub", dir + "/pub");
    renameSync(dir + "/pub", dir + "/linkpub");
    renameSync(dir + "/pub.away", dir + "/pub");
  } catch {}
  if (n === 1) writeSync(1, "swapping\\n");
}`;

/** deniedFolderTree with `files`, and the link `d -> pub` that SWAP re-points. */
export function linkedTree(prefix: string, files: Record<string, string>): string {
  const allowed = deniedFolderTree(prefix, files);
  symlinkSync("pub", join(allowed, "d"));
  return allowed;
}

/**
 * Run `script` (SWAP or SWAP_DIR) over `allowed` until the test ends; resolves once it has
 * swapped (a loaded machine can take seconds to start node: an attack loop run before that
 * would see no swap at all).
 */
export async function startSwapping(script: string, allowed: string): Promise<void> {
  const p = spawn(process.execPath, ["-e", script, allowed], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  swapper = p;
  const [chunk] = (await Promise.race([
    once(p.stdout, "data"),
    once(p, "exit").then(([code]) => {
      throw new Error(`the swapper exited (${code}) before it swapped`);
    }),
  ])) as [Buffer];
  expect(String(chunk)).toContain("swapping");
}
