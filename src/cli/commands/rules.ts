import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import { WardenError } from "../../core/errors.js";
import {
  DirectoryPlugins,
  evaluateAction,
  loadRulesOrThrow,
  type RulesEvaluation,
  type RuleTrace,
} from "../../rules/index.js";
import { EXIT } from "../exit-codes.js";
import { jsonOption, printJson } from "../output.js";

interface EvalOpts {
  rules: string;
  action: string;
  plugins?: string;
  trace?: boolean;
  json?: boolean;
}

/** --action: "-" is stdin, an existing file is read, anything else is JSON text. */
function readAction(a: string): unknown {
  const text = a === "-" ? readFileSync(0, "utf8") : existsSync(a) ? readFileSync(a, "utf8") : a;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WardenError(
      "rules_bad_action",
      `--action is not valid JSON (${(e as Error).message}); write it like '{"action_type":"payment","payload":{"amount":5}}' or '{"kind":"tool.call","name":"x","arguments":{}}'`,
      { category: "usage" },
    );
  }
}

const q = (v: unknown) => JSON.stringify(v);

/** The trace as lines a person reads. */
function traceLines(trace: readonly RuleTrace[]): string[] {
  const out: string[] = [];
  const width = Math.max(...trace.map((t) => t.rule_name.length), 4);
  for (const t of trace) {
    out.push(
      `  ${t.rule_name.padEnd(width)}  ${t.result.padEnd(11)} ${t.action.padEnd(6)} priority ${t.priority}  ${t.where}`,
    );
    for (const c of t.conditions ?? [])
      out.push(
        `      ${c.test}${c.actual === undefined ? (c.test.includes(" ") ? " (field missing)" : "") : ` (value ${q(c.actual)})`} -> ${c.result}`,
      );
    if (t.cel) out.push(`      CEL ${t.cel.expression} -> ${q(t.cel.value)}`);
    for (const w of t.wasm_details ?? [])
      out.push(
        w.error
          ? `      plugin ${w.plugin}.${w.function}: failed, ${w.error.code}: ${w.error.message}`
          : `      plugin ${w.plugin}.${w.function}: verdict ${w.verdict}${w.message === undefined ? "" : ` ${q(w.message)}`} (${w.duration_us} µs, ${w.memory_used_bytes} bytes)`,
      );
    if (t.error)
      out.push(`      error ${t.error.code}: ${t.error.message} (on_error: ${t.error.on_error})`);
  }
  return out;
}

function text(e: RulesEvaluation): string {
  const head =
    e.decision === null
      ? `no rule objected (the policy's allow stands): ${e.reason}`
      : `${e.decision}: ${e.reason}`;
  return [head, ...(e.trace ? traceLines(e.trace) : [])].join("\n");
}

export function registerRules(program: Command): void {
  const rules = program
    .command("rules")
    .description("Evaluate YAML and CEL rules (docs/rules.md).");
  jsonOption(rules.command("eval"))
    .description(
      "Judge an action by a rules file and print the decision (--trace: every rule, each condition's value, each plugin call's wasm_details): exit 0 allowed (no rule, allow, warn, log), 1 denied (deny, review), 2 bad input.",
    )
    .requiredOption("-r, --rules <file>", "the rules file (YAML or JSON)")
    .requiredOption(
      "-a, --action <json|file|->",
      `the action: the plugin input ('{"action_type":"payment","tenant":"alice","payload":{...}}') or a Warden action ('{"kind":"tool.call","name":"x","arguments":{},"caller":"alice","upstream":"pay"}'); a file, or - for stdin`,
    )
    .option("--plugins <dir>", "the folder of <name>.wasm plugins the rules call")
    .option("--trace", "print how each rule was judged")
    .action(async (opts: EvalOpts) => {
      const action = readAction(opts.action);
      const plugins =
        opts.plugins === undefined ? undefined : await DirectoryPlugins.load(opts.plugins);
      const set = loadRulesOrThrow(opts.rules, plugins === undefined ? {} : { plugins });
      const e = evaluateAction(set, action, { trace: opts.trace === true });
      if (opts.json === true) printJson(e);
      else process.stdout.write(`${text(e)}\n`);
      if (!e.allowed) process.exitCode = EXIT.denied;
    });
}
