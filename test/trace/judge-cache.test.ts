// What the Node agent remembers between calls (src/trace/agent/judge.ts) is judged again when a
// symbolic link may have changed: a link the program swaps itself, and one a child swaps (`ln`,
// which has no agent) before it ends. Both for a file read and for a program to exec (its real
// path is remembered, the rule is matched each time).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";

describe("warden run: remembered judgements and symbolic links", () => {
  it("a link swapped by the program or by a child that ended is judged again (read and exec)", async () => {
    const dir = tempDir();
    const secret = join(dir, "secret.txt");
    files(dir, {
      "secret.txt": "s3cret",
      "ok.txt": "fine",
      "policy.yaml": [
        'version: "1.0"',
        "storage:",
        "  deny:",
        `    - { uri: ${JSON.stringify(secret)}, access: [read, write] }`,
        "  allow:",
        '    - { uri: "/**", access: [read, write] }',
        "commands:",
        "  default: allow",
        '  deny: ["false"]',
        "",
      ].join("\n"),
      "app.js": `
const fs = require("fs"), cp = require("child_process");
const out = [];
const read = () => { try { return fs.readFileSync("link", "utf8"); } catch (e) { return e.code; } };
const run = () => { try { cp.execFileSync("./tool"); return "ran"; } catch (e) { return e.code + (/Warden/.test(e.message) ? " Warden" : ""); } };
fs.symlinkSync(${JSON.stringify(join(dir, "ok.txt"))}, "link");
out.push(read(), read());
cp.execFileSync("ln", ["-sfn", ${JSON.stringify(secret)}, "link"]);
out.push(read());
fs.symlinkSync("/bin/true", "tool");
out.push(run(), run());
fs.unlinkSync("tool");
fs.symlinkSync("/bin/false", "tool");
out.push(run());
fs.unlinkSync("tool");
fs.symlinkSync("/bin/true", "tool");
out.push(run());
cp.execFileSync("ln", ["-sfn", "/bin/false", "tool"]);
out.push(run());
console.log("OUT " + JSON.stringify(out));
`,
    });
    const r = await runWarden(
      ["run", "--policy", join(dir, "policy.yaml"), "--", process.execPath, "app.js"],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!) as string[];
    expect(out).toEqual([
      "fine",
      "fine",
      "EACCES",
      "ran",
      "ran",
      "ENOENT Warden",
      "ran",
      "ENOENT Warden",
    ]);
  }, 120_000);
});
