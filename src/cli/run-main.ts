/**
 * `warden run`'s entry, bundled at build time with what it imports into one file,
 * dist/cli/run.bundle.mjs (scripts/bundle-cli.mjs), which dist/cli/main.js loads when the
 * command is `run`: loading ~200 ES modules one by one (resolve, read, compile, link each) was
 * most of the CLI's start, paid by every traced program. Only the `run` command is registered.
 */
import { registerRun } from "./commands/run.js";
import { runCli } from "./program.js";

export function runRun(argv: readonly string[]): Promise<number> {
  return runCli(argv, [registerRun]);
}
