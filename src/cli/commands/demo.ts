import type { Command } from "commander";
import { runCoreDemo } from "../demo/core-demo.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run a short end-to-end example of Warden on a built-in example and print every decision.",
    )
    .option("--json", "print the results as JSON")
    .action(async (opts: { json?: boolean }) => {
      await runCoreDemo({ json: opts.json === true });
    });
}
