// `warden run` with a malwi policy file and with a preset, end to end (real CLI, real node,
// the real agent): a malwi file's rules block what they name, each named by its malwi key and
// line, and the keys Warden cannot enforce are said as located warnings before the run.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWarden, tempDir } from "./helpers.js";

describe("warden run with malwi policies and presets", () => {
  it("enforces a malwi file: files, commands; warns about symbols", async () => {
    const home = tempDir("warden-malwi-home-");
    mkdirSync(join(home, ".ssh"));
    writeFileSync(join(home, ".ssh", "id_rsa"), "KEY");
    writeFileSync(
      join(home, "malwi.yaml"),
      [
        "version: 1",
        "commands:",
        "  deny: [curl, wget]",
        "files:",
        '  deny: ["~/.ssh/**"]',
        "symbols:",
        "  deny: [getpass]",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(home, "app.js"),
      `const fs = require("fs"), cp = require("child_process");
try { fs.readFileSync(${JSON.stringify(join(home, ".ssh", "id_rsa"))}); console.log("READ"); } catch (e) { console.log("read", e.code); }
try { cp.execFileSync("curl", ["--version"]); console.log("CURL"); } catch (e) { console.log("curl", e.code); }
console.log(cp.execFileSync("sh", ["-c", "echo shell-ran"], { encoding: "utf8" }).trim());
`,
    );
    const r = await runWarden(
      ["run", "--policy", join(home, "malwi.yaml"), "--", process.execPath, "app.js"],
      {
        cwd: home,
        env: { ...process.env, HOME: home },
      },
    );
    expect(r.stdout).toContain("read EACCES");
    expect(r.stdout).not.toContain("READ");
    expect(r.stdout).not.toContain("CURL");
    expect(r.stdout).toContain("shell-ran");
    expect(r.stderr).toMatch(/malwi\.yaml:6:1 warning policy_not_enforced symbols/);
    expect(r.stderr).toMatch(
      /block\s+js:fs\.readFileSync .*id_rsa\s+files\.deny\[0\] \(.*malwi\.yaml:5\)/,
    );
    expect(r.stderr).toMatch(
      /block\s+js:child_process\.execFileSync \S*curl.*commands\.deny\[0\] \(.*malwi\.yaml:3\)/,
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it("--print-preset prints a preset that --policy reads back", async () => {
    const dir = tempDir();
    const printed = await runWarden(["run", "--print-preset", "air-gap"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^version: 1\n/);
    writeFileSync(join(dir, "air-gap.yaml"), printed.stdout);
    const r = await runWarden(
      [
        "run",
        "--policy",
        join(dir, "air-gap.yaml"),
        "--",
        process.execPath,
        "-e",
        `require("net").connect(9, "127.0.0.1").on("error", (e) => console.log("connect", e.code));`,
      ],
      { cwd: dir },
    );
    expect(r.stdout).toContain("connect ECONNREFUSED");
    expect(r.stderr).toMatch(/block\s+js:net\.connect 127\.0\.0\.1/);
    const bad = await runWarden(["run", "--print-preset", "nope"]);
    expect(bad.code).toBe(2);
  });
});
