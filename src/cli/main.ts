#!/usr/bin/env node
/** `warden`: `warden run` from its one-file bundle when the build made one (src/cli/run-main.ts). */
async function main(argv: readonly string[]): Promise<number> {
  if (argv[2] === "run") {
    const spec = "./run.bundle.mjs";
    let bundle: { runRun(argv: readonly string[]): Promise<number> } | undefined;
    try {
      bundle = (await import(spec)) as typeof bundle;
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
    if (bundle !== undefined) return bundle.runRun(argv);
  }
  return (await import("./program.js")).runCli(argv);
}

process.exitCode = await main(process.argv);
