import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { commandsFor } from "./commands/index.js";
import { EXIT, exitCodesHelp } from "./exit-codes.js";
import { printJson, reportError } from "./output.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** One line: commander's message without its `error:` prefix. */
function usageLine(s: string): string {
  return s
    .replace(/^error:\s*/i, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
}

/**
 * Build the `warden` program for `argv` (as process.argv): the command it names is registered
 * (its module loaded only then), or every command for help, --version and unknown names.
 */
export async function buildProgram(
  argv: readonly string[],
  registers?: readonly ((program: Command) => void)[],
): Promise<Command> {
  const program = new Command("warden")
    .description("A fast, fail-closed checkpoint around everything an AI agent's tools can do.")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Usage errors: one line on stderr with the code, like every other error.
      outputError: (s, write) =>
        write(`warden: usage: ${usageLine(s)} (run \`warden --help\` for usage)\n`),
    })
    .addHelpText("after", `\n${exitCodesHelp()}`);
  for (const register of registers ?? (await commandsFor(argv.slice(2)))) register(program);
  return program;
}

/** `--json` given to the command that runs (commander's parse errors: anywhere in argv). */
let jsonMode = false;

/**
 * Run the CLI with `argv` (as process.argv); resolves to the exit code. `registers`: the
 * commands to offer (default: what argv names, src/cli/commands/index.ts).
 */
export async function runCli(
  argv: readonly string[],
  registers?: readonly ((program: Command) => void)[],
): Promise<number> {
  const program = await buildProgram(argv, registers);
  jsonMode = false;
  program.hook("preAction", (_program, action) => {
    jsonMode = action.opts().json === true;
  });
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, --version, `warden help`: 0. Help shown because no command was given (bare
      // `warden`, `warden policy`): bad usage, 2.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
        return EXIT.ok;
      if (error.code === "commander.help" || error.code === "commander.executeSubCommandAsync")
        return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      if (argv.slice(2).includes("--json"))
        printJson({
          error: { code: "usage", message: usageLine(error.message) },
        });
      return EXIT.usage;
    }
    return reportError(error, { json: jsonMode });
  }
}
