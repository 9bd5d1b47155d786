import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { isWardenError, WardenError } from "../../core/errors.js";
import { inspectModule } from "../../sandbox/inspect.js";
import type { LimitsInput } from "../../sandbox/limits.js";
import { loadPlugin, readModuleFile } from "../../sandbox/plugin.js";
import { EXIT } from "../exit-codes.js";
import { jsonOption, printJson, usageError } from "../output.js";

interface LimitOpts {
  memoryLimit?: string;
  timeoutMs?: string;
  fuel?: string;
  function?: string;
}

function int(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usageError(`${flag} must be a whole number (got "${value}")`);
  return Number(value);
}

function limitsFrom(opts: LimitOpts): LimitsInput {
  const limits: LimitsInput = {};
  const memory = int("--memory-limit", opts.memoryLimit);
  const timeout = int("--timeout-ms", opts.timeoutMs);
  const fuel = int("--fuel", opts.fuel);
  if (memory !== undefined) limits.memory_limit_bytes = memory;
  if (timeout !== undefined) limits.timeout_ms = timeout;
  if (fuel !== undefined) limits.fuel = fuel;
  return limits;
}

/** A plugin name from a file name: the allowed characters only, at most 128. */
function nameOf(file: string): string {
  const name = basename(file)
    .replace(/\.wasm$/, "")
    .replace(/[^A-Za-z0-9._-]/g, "_");
  return (name || "plugin").slice(0, 128);
}

/** --input: "-" is stdin, an existing file is read, anything else is JSON text. */
function readInput(input: string | undefined): string {
  if (input === undefined) return "{}";
  if (input === "-") return readFileSync(0, "utf8");
  if (existsSync(input)) return readFileSync(input, "utf8");
  try {
    JSON.parse(input);
  } catch {
    throw usageError(
      `--input "${input.slice(0, 60)}" is neither a file, "-" (stdin) nor JSON text`,
    );
  }
  return input;
}

/** The module's bytes; a file that cannot be read is bad input (exit 2), not a plugin failure. */
async function moduleBytes(file: string, name: string): Promise<Uint8Array> {
  try {
    return await readModuleFile(file, name);
  } catch (error) {
    if (!isWardenError(error)) throw error;
    throw new WardenError("not_found", `${error.message} (give the path of a .wasm file)`, {
      category: "usage",
      details: { path: file },
      cause: error,
    });
  }
}

function limitOptions(cmd: Command): Command {
  return jsonOption(cmd)
    .option("--function <name>", "evaluation export to call", "evaluate")
    .option("--memory-limit <bytes>", "memory_limit_bytes (default 16 MiB, up to 256 MiB)")
    .option("--timeout-ms <n>", "timeout_ms (default 100, 1 to 30000)")
    .option("--fuel <n>", "fuel: instruction budget per evaluation (default off)");
}

export function registerPlugin(program: Command): void {
  const plugin = program
    .command("plugin")
    .description("Run and inspect WebAssembly plugins (JSON ABI v1) under Warden's limits.");

  limitOptions(
    plugin
      .command("test <file>")
      .description(
        'Evaluate a plugin once and print one JSON line: verdict, message, metadata, duration_us, memory_used_bytes, fuel_used. Exit 0 verdict true, 1 verdict false; a plugin failure prints {"error":{code,message}} and exits 3; bad usage exits 2.',
      )
      .option(
        "--input <file|-|json>",
        "input document: a file, - for stdin, or JSON text (default {})",
      ),
  ).action(async (file: string, opts: LimitOpts & { input?: string }) => {
    const limits = limitsFrom(opts);
    const input = readInput(opts.input);
    const name = nameOf(file);
    try {
      const bytes = await moduleBytes(file, name);
      const p = await loadPlugin(bytes, {
        name,
        limits,
        function: opts.function ?? "evaluate",
      });
      const out = await p.evaluate(input);
      printJson(out);
      // verdict false is a "no" (docs/cli.md, "Exit codes").
      if (out.verdict === false) process.exitCode = EXIT.denied;
    } catch (error) {
      if (!isWardenError(error) || error.category !== "plugin") throw error;
      printJson({ error: { code: error.code, message: error.message } });
      process.exitCode = EXIT.failure;
    }
  });

  limitOptions(
    plugin
      .command("inspect <file>")
      .description(
        "Print JSON about a module: sha256, size, kind, exports, imports, memory limits, and every problem Warden would refuse it for.",
      ),
  ).action(async (file: string, opts: LimitOpts) => {
    const limits = limitsFrom(opts);
    printJson(
      await inspectModule(
        await moduleBytes(file, nameOf(file)),
        limits,
        opts.function ?? "evaluate",
      ),
    );
  });
}
