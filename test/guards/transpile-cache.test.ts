/** The jco output cache holds JavaScript Warden runs: it is used only when nobody else can write it. */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { transpileGuard } from "../../src/guards/wasm/transpile.js";
import { jsPatternGuard } from "./build.js";

const DIRS: string[] = [];
afterAll(() => {
  for (const d of DIRS) rmSync(d, { recursive: true, force: true });
});

function dir(mode: number): string {
  const d = mkdtempSync(join(tmpdir(), "warden-transpile-"));
  chmodSync(d, mode);
  DIRS.push(d);
  return d;
}

it("caches in a private directory, and refuses a group- or world-writable one", {
  timeout: 300_000,
}, async () => {
  const file = jsPatternGuard();
  const bytes = readFileSync(file);

  const safe = dir(0o700);
  const t = await transpileGuard(bytes, "pattern", file, safe);
  expect(t.dir.startsWith(safe)).toBe(true);
  expect(readdirSync(safe)).toHaveLength(1);

  const open = dir(0o777);
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    const u = await transpileGuard(bytes, "pattern", file, open);
    expect(u.dir.startsWith(open)).toBe(false);
    expect(readdirSync(open)).toEqual([]);
    DIRS.push(join(u.dir, ".."));
  } finally {
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
  }
  expect(warnings.join("\n")).toMatch(
    /does not use the component cache: .* group- or world-writable/,
  );
});
