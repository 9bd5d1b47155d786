// The Node agent's remembered judgements (src/trace/agent/judge.ts) are used again only while
// the path still leads to the same file (device, inode, birth time) or, for a name not there
// yet, the same directory unchanged. Here the links are swapped by "someone else" (the test
// itself: no hooked call, no child of the judge), as a sibling process, another thread or a
// background shell would: the judge must see where the path leads now.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";
import { Judge } from "../../src/trace/agent/judge.js";
import {
  denyPolicy,
  files,
  runApp,
  runWarden,
  SWAP_BEHIND_READER,
  tempDir,
  WAIT_FOR_FILE,
} from "./helpers.js";
import { PY } from "./python-helpers.js";

function setup(): { dir: string; judge: Judge } {
  const dir = tempDir();
  for (const d of ["good", "good/sub", "secret", "secret/sub"]) mkdirSync(join(dir, d));
  writeFileSync(join(dir, "good/f.txt"), "good");
  writeFileSync(join(dir, "secret/f.txt"), "s3cret");
  writeFileSync(join(dir, "x.txt"), "x");
  const compiled = compilePolicy(denyPolicy([`${dir}/secret/**`]), { file: "policy.yaml" });
  if (!compiled.ok) throw new Error(compiled.errors[0]?.message);
  return { dir, judge: new Judge(compiled.policy, ["storage"]) };
}

/** Point `link` at `target`, as another process would (no hooked call, nothing forgotten). */
function repoint(link: string, target: string): void {
  rmSync(link, { force: true });
  symlinkSync(target, link);
}

describe("warden run agent: a remembered judgement follows the file system, not the text", () => {
  it("a directory link swapped by another process after a read was allowed", () => {
    const { dir, judge } = setup();
    const d = join(dir, "d");
    symlinkSync(join(dir, "good"), d);
    expect(judge.path(false, `${d}/f.txt`).verdict).toBe("allow");
    expect(judge.path(false, `${d}/f.txt`).verdict).toBe("allow");
    repoint(d, join(dir, "secret"));
    expect(judge.path(false, `${d}/f.txt`).verdict).toBe("block");
    repoint(d, join(dir, "good"));
    expect(judge.path(false, `${d}/f.txt`).verdict).toBe("allow");
  });

  it("a name not there yet, whose directory link is swapped before the write", () => {
    const { dir, judge } = setup();
    const d = join(dir, "d");
    symlinkSync(join(dir, "good"), d);
    expect(judge.path(true, `${d}/new.txt`).verdict).toBe("allow");
    repoint(d, join(dir, "secret"));
    expect(judge.path(true, `${d}/new.txt`).verdict).toBe("block");
  });

  it("a file link pointed elsewhere, and a dangling link pointed elsewhere", () => {
    const { dir, judge } = setup();
    const l = join(dir, "l");
    symlinkSync(join(dir, "good/f.txt"), l);
    expect(judge.path(false, l).verdict).toBe("allow");
    repoint(l, join(dir, "secret/f.txt"));
    expect(judge.path(false, l).verdict).toBe("block");

    const dangling = join(dir, "dangling");
    symlinkSync(join(dir, "good/missing.txt"), dangling);
    expect(judge.path(true, dangling).verdict).toBe("allow");
    repoint(dangling, join(dir, "secret/missing.txt"));
    expect(judge.path(true, dangling).verdict).toBe("block");
  });

  it("a directory on the way replaced by a link (rename, then symlink in its place)", () => {
    const { dir, judge } = setup();
    const a = join(dir, "a");
    mkdirSync(a);
    writeFileSync(join(a, "f.txt"), "mine");
    expect(judge.path(false, `${a}/f.txt`).verdict).toBe("allow");
    rmSync(a, { recursive: true });
    symlinkSync(join(dir, "secret"), a);
    expect(judge.path(false, `${a}/f.txt`).verdict).toBe("block");
    // A file first seen in the directory after the swap (the remembered directory's real path).
    expect(judge.path(false, `${a}/other.txt`).verdict).toBe("block");
  });

  it("`..` after a link is judged where the kernel goes (the link's parent), never as text", () => {
    const { dir, judge } = setup();
    const d = join(dir, "d");
    symlinkSync(join(dir, "secret/sub"), d);
    // As text, d/../x.txt is dir/x.txt (allowed); the kernel reads secret/x.txt.
    expect(judge.path(false, `${d}/../x.txt`).verdict).toBe("block");
  });

  it("a file rewritten in place stays allowed (no false block)", () => {
    const { dir, judge } = setup();
    const f = join(dir, "good/f.txt");
    expect(judge.path(false, f).verdict).toBe("allow");
    writeFileSync(f, "changed");
    expect(judge.path(false, f).verdict).toBe("allow");
    expect(judge.path(true, f).verdict).toBe("allow");
  });

  it("under warden run: a link swapped by another thread, or by a sibling process, and `..` in a relative path", async () => {
    const { dir } = setup();
    files(dir, {
      "policy.yaml": denyPolicy([`${dir}/secret/**`]),
      "swap.js": `
const fs = require("fs");
fs.rmSync(process.argv[2], { force: true });
fs.symlinkSync(process.argv[3], process.argv[2]);
`,
      "reader.js": `
const fs = require("fs");
const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; } };
${WAIT_FOR_FILE}
const first = read("s/f.txt");
fs.writeFileSync("ready", "");
wait("swapped");
console.log("READER " + JSON.stringify([first, read("s/f.txt")]));
`,
      "app.js": `
const fs = require("fs"), cp = require("child_process"), { Worker } = require("worker_threads");
const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch (e) { return e.code; } };
const out = [];
fs.symlinkSync("good", "w");
out.push(read("w/f.txt"));
const wk = new Worker(${JSON.stringify(`${dir}/swap.js`)}, { argv: ["w", "secret"] });
wk.on("exit", () => {
  out.push(read("w/f.txt"));
  fs.symlinkSync("secret/sub", "up");
  out.push(read("up/../f.txt"));
  // A sibling: the reader judges s/f.txt, then this process (its parent) swaps s behind it.
  ${SWAP_BEHIND_READER}
  reader.on("exit", () => console.log("OUT " + JSON.stringify(out)));
});
`,
    });
    const r = await runApp(dir, { json: false, strace: false });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!)).toEqual(["good", "EACCES", "EACCES"]);
    expect(JSON.parse(/READER (.*)/.exec(r.stdout)![1]!)).toEqual(["good", "EACCES"]);
  }, 120_000);

  it.skipIf(PY === undefined)(
    "the Python agent: a link swapped by a child that ended is judged again",
    async () => {
      const { dir } = setup();
      files(dir, {
        "policy.yaml": denyPolicy([`${dir}/secret/**`]),
        "app.py": `
import json, os, subprocess, threading
def read(p):
    try:
        with open(p) as f:
            return f.read()
    except PermissionError:
        return "EACCES"
out = []
os.symlink("good", "d")
out.append(read("d/f.txt")); out.append(read("d/f.txt"))
subprocess.run(["ln", "-sfn", "secret", "d"], check=True)
out.append(read("d/f.txt"))
subprocess.run(["ln", "-sfn", "good", "d"], check=True)
out.append(read("d/f.txt"))
print("OUT " + json.dumps(out))
`,
      });
      const r = await runWarden(
        ["run", "--no-strace", "--policy", join(dir, "policy.yaml"), "--", PY!, "app.py"],
        { cwd: dir },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!)).toEqual([
        "good",
        "good",
        "EACCES",
        "good",
      ]);
    },
    120_000,
  );
});
