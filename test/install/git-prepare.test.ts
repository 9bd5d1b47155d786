// A git checkout has no dist/ (it is not committed). npm installs a git URL by cloning it,
// installing its dependencies, running `prepare`, then packing the clone; so `prepare` must
// build dist/, or the installed package has no `warden` to run. Here: the tracked files alone
// (what a clone holds), the checkout's node_modules beside them, `npm pack` as npm runs it for a
// git dependency, and the tarball must carry the built CLI and library entry.
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "warden-git-prepare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a checkout without dist/ (what npm clones for a git URL)", () => {
  it("gets dist/ from the prepare script, so the packed package has a warden to run", async () => {
    const clone = join(dir, "clone");
    const { stdout } = await run("git", ["ls-files", "-z"], { cwd: ROOT, maxBuffer: 64 << 20 });
    for (const file of stdout.split("\0").filter(Boolean)) {
      if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(clone, file));
    }
    expect(existsSync(join(clone, "dist")), "dist/ is not tracked").toBe(false);
    symlinkSync(join(ROOT, "node_modules"), join(clone, "node_modules"), "dir");

    const env = { ...process.env };
    for (const k of Object.keys(env)) {
      if (/^npm_(config_(global|prefix|location)|lifecycle_|package_)/i.test(k)) delete env[k];
    }
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: clone,
      env,
      maxBuffer: 64 << 20,
    });
    const [info] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    const files = info.files.map((f) => f.path);
    expect(files).toContain("dist/cli/main.js");
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files).not.toContain("dist/.build-stamp");
    const pkg = JSON.parse(readFileSync(join(clone, "package.json"), "utf8")) as {
      bin: { warden: string };
    };
    expect(files).toContain(pkg.bin.warden);
  }, 300_000);
});
