import type { Command } from "commander";
import { printCoreDemo, runCoreDemo } from "../demo/core-demo.js";
import { printGatewayDemo, runGatewayDemo } from "../demo/gateway-demo.js";
import { endQuietlyWhenStdoutCloses, printJson } from "../output.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run a short end-to-end example of Warden on a built-in example and print every decision.",
    )
    .option("--json", "print the results as JSON")
    .action(async (opts: { json?: boolean }) => {
      endQuietlyWhenStdoutCloses();
      const gateway = await runGatewayDemo();
      const core = runCoreDemo();
      if (opts.json) printJson({ gateway, core });
      else {
        printGatewayDemo(gateway, (s) => process.stdout.write(s));
        printCoreDemo(core, (s) => process.stdout.write(s));
      }
    });
}
