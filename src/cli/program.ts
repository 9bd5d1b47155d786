import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.js";
import { reportError } from "./output.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Build the `warden` program; each layer's command module registers its subcommand. */
export function buildProgram(): Command {
  const program = new Command("warden")
    .description("A fast, fail-closed checkpoint around everything an AI agent's tools can do.")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Usage errors: one line on stderr with the code, like every other error.
      outputError: (s, write) =>
        write(
          `warden: usage: ${s
            .replace(/^error:\s*/i, "")
            .replace(/\s*\n\s*/g, " ")
            .trim()} (run \`warden --help\` for usage)\n`,
        ),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 a check said no (denied / invalid), 2 bad usage or bad config, 3 internal or plugin failure.",
    );
  for (const register of commands) register(program);
  return program;
}

/** Run the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
      ) {
        return 0;
      }
      return 2;
    }
    return reportError(error);
  }
}
