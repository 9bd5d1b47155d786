// An attacker choosing what runs through spawn options the child_process hooks read differently
// from Node (real `warden run`, real node, no strace: the agent alone must hold). A program
// calling `ChildProcess.prototype.spawn` itself with a `file` getter answered the check `echo`
// and Node `cat` (the secret printed); `execSync` with a `shell` getter answered `/bin/sh` to the
// check and a denied `python3` to Node (its code ran); `spawnSync`/`execFileSync` with `shell:
// true` (own, or on the options' prototype) were judged as the program name while Node ran
// `/bin/sh -c "<line>"`, which a commands rule denied. Now the options are read once into a
// plain copy (own and inherited keys), Node gets that copy, and with `shell` the shell and its
// command line are judged, as Node will run them.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

const APP = `
const cp = require("child_process");
const secret = process.argv[2];
const say = (name, r) => console.error(name, r);
// ChildProcess#spawn with a getter: echo to the check, cat to Node.
let n = 0;
const c = new cp.ChildProcess();
c.on("error", (e) => say("proto-getter", "refused " + e.code));
c.stdout = null;
try {
  c.spawn({ get file() { return n++ ? "/bin/cat" : "/bin/echo"; }, args: ["x", secret],
    stdio: ["ignore", "inherit", "inherit"], envPairs: ["PATH=/usr/bin:/bin"] });
} catch (e) { say("proto-getter", "threw " + e.code); }
c.on("exit", () => {
  // execSync with a shell getter: /bin/sh twice, then python3.
  let m = 0;
  try {
    const out = cp.execSync("print('PY' + 'RAN')", { encoding: "utf8", stdio: "pipe",
      get shell() { return m++ < 2 ? "/bin/sh" : "/usr/bin/python3"; } });
    say("shell-getter", "ran " + out.trim());
  } catch (e) { say("shell-getter", "failed " + String(e.stdout || "").trim()); }
  // shell: true, own and inherited: Node runs /bin/sh -c "cat <secret>".
  const r = cp.spawnSync("cat " + secret, { shell: true, encoding: "utf8" });
  say("spawnSync-shell", r.error ? "refused " + r.error.code : "ran " + r.stdout.trim());
  const p = cp.spawnSync("cat", [secret], Object.create({ shell: true, encoding: "utf8" }));
  say("spawnSync-proto-shell", p.error ? "refused " + p.error.code : "ran " + String(p.stdout).trim());
  try {
    say("execFileSync-shell", "ran " + cp.execFileSync("cat", [secret], { shell: true, encoding: "utf8" }).trim());
  } catch (e) { say("execFileSync-shell", "refused " + e.code); }
  // Allowed: still runs, and the child gets the options it was given.
  say("allowed", cp.execFileSync("echo", ["fine"], Object.create({ encoding: "utf8" })).trim());
});
`;

describe("warden run: spawn options that answer the check and Node differently", () => {
  it("judges what Node runs: getters read once, inherited shell, the shell's command line", async () => {
    const root = tempDir("warden-hostile-spawn-");
    const secret = join(root, "secret.txt");
    files(root, {
      "app.js": APP,
      "secret.txt": "TOPSECRET\n",
      "policy.yaml": [
        'version: "1.0"',
        "commands:",
        "  default: allow",
        '  deny: ["cat", "python3", "sh -c *secret*"]',
        "",
      ].join("\n"),
    });
    const r = await runWarden(
      [
        "run",
        "--json",
        "--no-strace",
        "--policy",
        "policy.yaml",
        "--",
        process.execPath,
        "app.js",
        secret,
      ],
      { cwd: root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("TOPSECRET");
    expect(r.stderr).not.toContain("PYRAN");
    // echo ran (what was judged), printing the path, not cat printing the file.
    expect(r.stderr).toContain(secret);
    expect(r.stderr).toMatch(/^shell-getter failed/m);
    for (const name of ["spawnSync-shell", "spawnSync-proto-shell", "execFileSync-shell"])
      expect(r.stderr).toMatch(new RegExp(`^${name} refused ENOENT$`, "m"));
    expect(r.stderr).toMatch(/^allowed fine$/m);
    const { events, summary } = eventsOf(r.stdout);
    expect(summary.lost).toBe(0);
    const blocks = events.filter((e) => e.verdict === "block");
    expect(blocks.map((e) => `${e.function} ${e.target}`).sort()).toEqual([
      "js:child_process.execFileSync /bin/sh",
      "js:child_process.spawnSync /bin/sh",
      "js:child_process.spawnSync /bin/sh",
    ]);
  }, 120_000);
});
