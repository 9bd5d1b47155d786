#!/usr/bin/env node
/**
 * Builds dist/: regenerates the schema validators (scripts/gen-validators.mjs), compiles src/
 * with tsc (tsconfig.build.json), bundles the Node agent (scripts/bundle-agent.mjs) and `warden run`
 * (scripts/bundle-cli.mjs), prepares
 * `warden run`'s presets (scripts/prepare-presets.mjs), copies the admin page's static files (src/admin/page/assets),
 * then writes dist/.build-stamp, a fingerprint of every input:
 * path, size and mtime of each file under src/ and schemas/, and the contents of the tsconfigs,
 * package.json, the build scripts and node_modules/.package-lock.json (what npm installed, so
 * a new TypeScript or @types rebuilds, while an `npm install` that changes nothing does not).
 *
 *   node scripts/build.mjs             `npm run build`: always builds
 *   node scripts/build.mjs --if-stale  `npm run demo`, `npm test`, `prepare`: builds only when
 *                                      the fingerprint differs from the stamp (or dist has none)
 *
 * A `git pull`, a checkout or an edit changes a file's mtime (and a deleted or added file changes
 * the list), so the fingerprint differs and the next run builds. A failed build leaves no stamp.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const STAMP = join(ROOT, "dist", ".build-stamp");
const TREES = ["src", "schemas"];
const FILES = [
  "tsconfig.json",
  "tsconfig.build.json",
  "package.json",
  "scripts/build.mjs",
  "scripts/gen-validators.mjs",
  "scripts/bundle-agent.mjs",
  "scripts/prepare-presets.mjs",
  "scripts/bundle-cli.mjs",
  "scripts/bundle-common.mjs",
  "node_modules/.package-lock.json",
];

/** The trees' `path size mtime` lines and the files' content hashes, sorted, hashed. */
export function fingerprint(root = ROOT) {
  const lines = [];
  const add = (abs) => {
    let st;
    try {
      st = statSync(abs);
    } catch {
      lines.push(`${relative(root, abs)} missing`);
      return;
    }
    lines.push(`${relative(root, abs)} ${st.isDirectory() ? "dir" : st.size} ${st.mtimeMs}`);
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) add(join(abs, name));
    }
  };
  for (const t of TREES) add(join(root, t));
  for (const f of FILES) {
    let text = "missing";
    try {
      text = createHash("sha256")
        .update(readFileSync(join(root, f)))
        .digest("hex");
    } catch {}
    lines.push(`${f} ${text}`);
  }
  return createHash("sha256").update(lines.sort().join("\n")).digest("hex");
}

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`build: ${args.join(" ")} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

function build() {
  rmSync(STAMP, { force: true });
  run([join(ROOT, "scripts", "gen-validators.mjs")]);
  const tsc = createRequire(join(ROOT, "package.json")).resolve("typescript/bin/tsc");
  // The Node agent's bundle is made from tsc's output: an old one must not outlive a failed build.
  rmSync(join(ROOT, "dist", "trace", "agent", "agent.bundle.cjs"), { force: true });
  rmSync(join(ROOT, "dist", "trace", "agent", "agent.bundle.cjs.cache"), { force: true });
  rmSync(join(ROOT, "dist", "trace", "policy", "presets.prepared.json"), { force: true });
  rmSync(join(ROOT, "dist", "cli", "run.bundle.mjs"), { force: true });
  run([tsc, "-p", join(ROOT, "tsconfig.build.json")]);
  run([join(ROOT, "scripts", "bundle-agent.mjs")]);
  run([join(ROOT, "scripts", "prepare-presets.mjs")]);
  run([join(ROOT, "scripts", "bundle-cli.mjs")]);
  // The admin page's static files (HTML, one ES module, CSS) are not TypeScript: copied as they are.
  const page = join(ROOT, "src", "admin", "page", "assets");
  if (existsSync(page)) {
    rmSync(join(ROOT, "dist", "admin", "page", "assets"), { recursive: true, force: true });
    cpSync(page, join(ROOT, "dist", "admin", "page", "assets"), { recursive: true });
  }
  // The Python agent (src/trace/python/site: sitecustomize.py and the agent) is Python: copied.
  const site = join(ROOT, "src", "trace", "python", "site");
  if (existsSync(site)) {
    rmSync(join(ROOT, "dist", "trace", "python", "site"), { recursive: true, force: true });
    cpSync(site, join(ROOT, "dist", "trace", "python", "site"), {
      recursive: true,
      filter: (f) => !f.includes("__pycache__"),
    });
  }
  writeFileSync(STAMP, `${fingerprint()}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes("--if-stale");
  let fresh = false;
  if (ifStale && existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    try {
      fresh = readFileSync(STAMP, "utf8").trim() === fingerprint();
    } catch {}
  }
  if (!fresh) {
    if (ifStale)
      process.stderr.write("build: dist/ is missing or older than its sources; building\n");
    build();
  }
}
