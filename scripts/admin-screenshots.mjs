#!/usr/bin/env node
/**
 * Takes the admin page's screenshots for docs/admin.md (docs/img/admin-*.png): runs the page's
 * browser test (test/admin/page.test.ts: a real gateway, a real admin listener, Debian's Chromium
 * through playwright-core), which saves a PNG at each step when WARDEN_PAGE_SCREENSHOTS names a
 * folder.
 *
 *   node scripts/admin-screenshots.mjs      (needs /usr/bin/chromium: apt-get install chromium)
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const vitest = createRequire(join(ROOT, "package.json")).resolve("vitest/vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "test/admin/page.test.ts"], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, WARDEN_PAGE_SCREENSHOTS: join(ROOT, "docs", "img") },
});
process.exit(r.status ?? 1);
