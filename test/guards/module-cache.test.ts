/** The guards pipeline keeps instrumented core modules in its cacheDir (the sandbox's disk cache). */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { parseGuardsConfig } from "../../src/guards/config.js";
import { loadGuards } from "../../src/guards/loader.js";
import { clearPreparedCache } from "../../src/sandbox/prepare.js";
import { watGuard } from "./build.js";

const DIR = mkdtempSync(join(tmpdir(), "warden-guard-modcache-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

it("a JSON ABI guard's instrumented module is written once to cacheDir and read back by a later load", async () => {
  const file = await watGuard("trap-guard");
  const r = parseGuardsConfig(
    [{ id: "trap", type: "wasm", module_path: file, runs_on: ["tool_invoke"] }],
    "/tmp/warden.yaml",
  );
  expect(r.issues).toEqual([]);
  clearPreparedCache();
  (await loadGuards(r.guards, { cacheDir: DIR })).close();
  const entries = readdirSync(DIR).filter((f) => f.endsWith(".wasm"));
  expect(entries).toHaveLength(1);
  const path = join(DIR, entries[0] as string);
  const before = statSync(path);
  expect(before.mode & 0o777).toBe(0o600);
  clearPreparedCache();
  (await loadGuards(r.guards, { cacheDir: DIR })).close();
  // read, not rewritten: a rewrite renames a new file over it (a new inode)
  expect(statSync(path).ino).toBe(before.ino);
  expect(readdirSync(DIR).filter((f) => f.endsWith(".wasm"))).toHaveLength(1);
});
