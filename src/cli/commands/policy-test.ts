import type { Command } from "commander";
import { WardenError } from "../../core/errors.js";
import { EXIT } from "../exit-codes.js";
import { jsonOption, printJson } from "../output.js";
import {
  formatCoverage,
  formatProblem,
  formatResult,
  summary,
  toJson,
} from "../policy-test/report.js";
import { runPolicyTests } from "../policy-test/run.js";

interface Options {
  policy?: string;
  coverage?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** `warden policy test <dir|file...>`: cases of actions and the decisions they must get. */
export function registerPolicyTest(policy: Command): void {
  jsonOption(policy.command("test"))
    .description(
      "Run policy test cases (YAML or JSON files, or directories of them; schemas/policy-test.schema.json): exit 0 all pass, 1 a case failed, 2 bad input.",
    )
    .argument("<paths...>", "case files, or directories searched for .yaml, .yml and .json files")
    .option(
      "-p, --policy <file>",
      "judge every case against this policy, over the files' `policy:` keys",
    )
    .option("--coverage", "list the rules of each policy that no case reached")
    .option("-v, --verbose", "print passing cases too")
    .action(async (paths: string[], opts: Options) => {
      const run = await runPolicyTests(
        paths,
        opts.policy === undefined ? {} : { policy: opts.policy },
      );
      if (run.problems.length > 0) {
        for (const p of run.problems) process.stderr.write(`${formatProblem(p)}\n`);
        throw new WardenError(
          "policy_test_invalid",
          `${run.problems.length} problem${run.problems.length === 1 ? "" : "s"} in the cases or their policies (listed above): fix them and run the tests again`,
          { category: "usage", details: { problems: run.problems } },
        );
      }
      const failed = run.results.some((r) => !r.passed);
      if (opts.json) printJson(toJson(run, opts.coverage === true));
      else {
        const lines: string[] = [];
        for (const r of run.results) if (!r.passed || opts.verbose) lines.push(...formatResult(r));
        if (opts.coverage) for (const c of run.coverage) lines.push(...formatCoverage(c));
        lines.push(summary(run));
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      process.exitCode = failed ? EXIT.denied : EXIT.ok;
    });
}
