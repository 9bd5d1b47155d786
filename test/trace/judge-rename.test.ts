// The Node agent forgets its remembered judgements when the program removes or replaces a name
// that is not a regular file (a directory or a symbolic link a remembered path may go through);
// removing or replacing a regular file keeps them (the identity check sees the name lead to
// nothing or to another file). Hostile: the same inode reached through a link replaced by a
// rename (sync and promise forms, a directory moved away first), with hard links so that the
// file's identity is unchanged and only its real path tells it is denied.
import { linkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";

/** Reads of `secret/**` denied, writes allowed everywhere (so the renames themselves are allowed). */
function readDenyPolicy(dir: string): string {
  return [
    'version: "1.0"',
    "storage:",
    "  deny:",
    `    - { uri: ${JSON.stringify(`${dir}/secret/**`)}, access: [read] }`,
    "  allow:",
    '    - { uri: "/**", access: [read, write] }',
    "",
  ].join("\n");
}

describe("warden run: removing or replacing names", () => {
  it("a link or directory replaced by a rename, and files unlinked and renamed, are judged where they lead now", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "good"));
    mkdirSync(join(dir, "secret"));
    mkdirSync(join(dir, "box/inner"), { recursive: true });
    files(dir, {
      "good/f.txt": "same-inode",
      "box/inner/g.txt": "same-inode-2",
      "good/x.txt": "x1",
      "good/y.txt": "y1",
      "policy.yaml": readDenyPolicy(dir),
      "app.js": `
const fs = require("fs");
const out = [];
const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; } };
const stat = (p) => { try { fs.statSync(p); return "ok"; } catch (e) { return e.code; } };
// 1. pub -> good; tmp -> secret (both hold f.txt: one inode). Reading pub/f.txt is remembered.
fs.symlinkSync("good", "pub");
fs.symlinkSync("secret", "tmp");
out.push(read("pub/f.txt"), stat("pub/f.txt"));
// The link replaced by a rename: pub/f.txt is the same inode, now under secret.
fs.renameSync("tmp", "pub");
out.push(read("pub/f.txt"), stat("pub/f.txt"));
(async () => {
// 2. The same with fs.promises.rename, and a link to the directory that holds the link.
fs.symlinkSync("box", "pub2");
fs.symlinkSync(require("path").resolve("secret"), "tmp2");
out.push(read("pub2/inner/g.txt"));
await fs.promises.rename("box/inner", "box/old");
await fs.promises.rename("tmp2", "box/inner");
out.push(read("pub2/inner/g.txt"));
// 3. Regular files unlinked and replaced: each read sees what is there now.
out.push(read("good/x.txt"));
fs.unlinkSync("good/x.txt");
out.push(read("good/x.txt"));
fs.writeFileSync("good/x.txt", "x2");
out.push(read("good/x.txt"));
out.push(read("good/y.txt"));
fs.renameSync("good/x.txt", "good/y.txt");
out.push(read("good/y.txt"), read("good/x.txt"));
await fs.promises.unlink("good/y.txt");
out.push(read("good/y.txt"));
console.log("OUT " + JSON.stringify(out));
})();
`,
    });
    linkSync(join(dir, "good/f.txt"), join(dir, "secret/f.txt"));
    linkSync(join(dir, "box/inner/g.txt"), join(dir, "secret/g.txt"));
    const r = await runWarden(
      [
        "run",
        "--no-strace",
        "--policy",
        join(dir, "policy.yaml"),
        "--",
        process.execPath,
        "app.js",
      ],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!) as string[];
    expect(out).toEqual([
      "same-inode",
      "ok",
      "EACCES",
      "EACCES",
      "same-inode-2",
      "EACCES",
      "x1",
      "ENOENT",
      "x2",
      "y1",
      "x2",
      "ENOENT",
      "ENOENT",
    ]);
  }, 120_000);
});
