// The Node agent remembers the real path of each directory it judged a file in (a new file in a
// known directory costs one lstat, not a realpath walk: src/trace/agent/judge.ts). A directory
// link swapped by the program, or by a child that ended, is judged again: a file first seen
// after the swap is judged where the link now leads.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { denyPolicy, files, runApp, tempDir } from "./helpers.js";

describe("warden run: remembered directories and symbolic links", () => {
  it("a directory link swapped by the program or by a child is followed to where it leads now", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "good"));
    mkdirSync(join(dir, "secret"));
    files(dir, {
      "good/f.txt": "good-f",
      "good/c.txt": "good-c",
      "secret/b.txt": "s3cret-b",
      "secret/e.txt": "s3cret-e",
      "secret/w.txt": "",
      "policy.yaml": denyPolicy([`${dir}/secret/**`]),
      "app.js": `
const fs = require("fs"), cp = require("child_process");
const out = [];
const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; } };
const write = (p) => { try { fs.writeFileSync(p, "x"); return "wrote"; } catch (e) { return e.code; } };
fs.symlinkSync("good", "d");
out.push(read("d/f.txt"), read("d/a.txt"));
fs.unlinkSync("d");
fs.symlinkSync("secret", "d");
out.push(read("d/b.txt"));
cp.execFileSync("ln", ["-sfn", "good", "d"]);
out.push(read("d/c.txt"), write("d/n.txt"));
cp.execFileSync("ln", ["-sfn", "secret", "d"]);
out.push(read("d/e.txt"), write("d/w.txt"));
console.log("OUT " + JSON.stringify(out));
`,
    });
    const r = await runApp(dir, { json: false, strace: false });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!) as string[];
    expect(out).toEqual(["good-f", "ENOENT", "EACCES", "good-c", "wrote", "EACCES", "EACCES"]);
  }, 120_000);
});
