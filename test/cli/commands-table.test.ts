// `warden <command>` loads only that command's module (src/cli/commands/index.ts): the table of
// names must say what each module registers, or a command would be missing when named.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { warden } from "./helpers.js";

describe("the commands table", () => {
  it("lists exactly the top-level names each module registers", async () => {
    for (const c of COMMANDS) {
      const program = new Command("warden");
      (await c.load())(program);
      expect(program.commands.map((x) => x.name()).sort()).toEqual([...c.names].sort());
    }
  });

  it("`warden run` builds a program with only the run command (the others are not loaded)", () => {
    const program = pathToFileURL(resolve("dist/cli/program.js")).href;
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { buildProgram } = await import(${JSON.stringify(program)});
         const p = await buildProgram(["node", "warden", "run", "--", "true"]);
         const all = await buildProgram(["node", "warden", "--help"]);
         console.log(JSON.stringify([p.commands.map((c) => c.name()), all.commands.length]));`,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const [one, all] = JSON.parse(r.stdout) as [string[], number];
    expect(one).toEqual(["run"]);
    expect(all).toBe(COMMANDS.reduce((n, c) => n + c.names.length, 0));
  });

  it("help, an unknown command and a named one still behave as before", () => {
    const help = warden(["--help"]);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) for (const n of c.names) expect(help.stdout).toContain(n);
    const unknown = warden(["no-such-command"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command");
    const runHelp = warden(["run", "--help"]);
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain("--fail-on");
  });
});
