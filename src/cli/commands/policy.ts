import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { WardenError } from "../../core/errors.js";
import {
  allowHint,
  type CompiledPolicy,
  loadPolicyFile,
  type PolicyDecision,
  type PolicyError,
} from "../../policy/index.js";
import { jsonOption, printJson } from "../output.js";
import { registerPolicyTest } from "./policy-test.js";

function formatError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.col} ${e.code} ${e.message}`;
}

/** Load and compile, or print every located error on stderr and fail with exit 2. */
async function load(file: string): Promise<CompiledPolicy> {
  const r = await loadPolicyFile(file);
  if (r.ok) return r.policy;
  for (const e of r.errors) process.stderr.write(`${formatError(e)}\n`);
  throw new WardenError(
    "policy_invalid",
    `${file}: ${r.errors.length} error${r.errors.length === 1 ? "" : "s"} (listed above); fix them and run \`warden policy check ${file}\` again`,
    { category: "config", details: { errors: r.errors } },
  );
}

function parseActions(text: string): { list: unknown[]; many: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new WardenError(
      "policy_bad_action",
      `--action is not valid JSON (${(e as Error).message}); write it like '{"kind":"tool.call","name":"x"}'`,
      { category: "usage" },
    );
  }
  return Array.isArray(value) ? { list: value, many: true } : { list: [value], many: false };
}

/** Exit status of a decision: 0 allowed, 1 denied, 2 the action itself was bad. */
function statusOf(d: PolicyDecision): 0 | 1 | 2 {
  if (d.allowed) return 0;
  return d.code === "bad_action" ? 2 : 1;
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command("policy")
    .description("Check a policy file, or evaluate actions against it (see docs/policy.md).");

  jsonOption(policy.command("check"))
    .description(
      "Compile a policy and print a summary (exit 0), or print every error as `file:line:col code message` (exit 2).",
    )
    .argument("<file>", "the policy (YAML or JSON)")
    .action(async (file: string) => {
      const p = await load(file);
      printJson({
        ok: true,
        file: p.file,
        revision: p.revision,
        version: p.version,
        description: p.description,
        summary: p.summary,
      });
    });

  jsonOption(policy.command("eval"))
    .description(
      "Judge an action (or a JSON array of actions, in order) and print the decision as JSON: exit 0 allowed, 1 denied, 2 bad input.",
    )
    .argument("<file>", "the policy (YAML or JSON)")
    .requiredOption(
      "-a, --action <json>",
      `the action as JSON, e.g. '{"kind":"tool.call","name":"calculator/add"}'; "-" reads stdin`,
    )
    .option("--explain", "add the explanation: rule, canonical input, result, time")
    .action(async (file: string, opts: { action: string; explain?: boolean }) => {
      const text = opts.action === "-" ? readFileSync(0, "utf8") : opts.action;
      const { list, many } = parseActions(text);
      const p = await load(file);
      const explain = opts.explain === true;
      const decisions = list.map((a) => p.check(a, { explain }));
      // A default deny says what to add (policy/hints.ts): `hint`, after the decision's fields.
      const shown = decisions.map((d, i) => {
        const hint = allowHint(p, list[i], d);
        return hint === undefined ? d : { ...d, hint };
      });
      printJson(many ? shown : shown[0]);
      const status = Math.max(0, ...decisions.map(statusOf));
      if (status === 2) {
        const bad = decisions.find((d) => d.code === "bad_action")!;
        throw new WardenError("policy_bad_action", bad.reason, { category: "usage" });
      }
      process.exitCode = status;
    });

  registerPolicyTest(policy);
}
