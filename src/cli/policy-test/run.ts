/**
 * Running `warden policy test`: each case file's cases, in order, against a policy compiled
 * for that file (so rate limits count across a file's cases and no further), with the
 * explanation the policy layer gives; which rules decided, for `--coverage`.
 */
import { type CompiledPolicy, loadPolicyFile, type PolicyDecision } from "../../policy/index.js";
import { didYouMean } from "../../policy/schema.js";
import { type Case, type CaseFile, findCaseFiles, type Problem, readCaseFile } from "./cases.js";

export interface CaseResult {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly name: string;
  readonly policy: string;
  readonly passed: boolean;
  /** What did not hold, in words (absent when the case passed). */
  readonly failure?: string;
  readonly expected: { decision: "allow" | "deny"; rule?: string | null; code?: string };
  readonly got: {
    decision: "allow" | "deny";
    code: string;
    reason: string;
    /** The deciding rule's key path and `file:line`; null when no rule decided. */
    ruleId: string | null;
    rule: string | null;
    /** The action as the policy judged it, canonicalized. */
    input: unknown;
  };
}

export interface RuleRef {
  readonly id: string;
  readonly where: string;
  readonly effect: "allow" | "deny";
}

/** Per policy: its rules, and those no case reached (neither decided nor failed a condition). */
export interface Coverage {
  readonly policy: string;
  readonly rules: number;
  readonly reached: number;
  readonly unreached: readonly RuleRef[];
}

export interface TestRun {
  readonly files: number;
  readonly results: readonly CaseResult[];
  readonly coverage: readonly Coverage[];
  /** Bad input (case files, policies): when there is any, nothing else counts (exit 2). */
  readonly problems: readonly Problem[];
}

export interface RunOptions {
  /** Judge every file's cases against this policy, whatever their `policy:` key says. */
  readonly policy?: string;
}

export async function runPolicyTests(
  targets: readonly string[],
  opts: RunOptions = {},
): Promise<TestRun> {
  const found = findCaseFiles(targets);
  const problems: Problem[] = [...found.problems];
  const results: CaseResult[] = [];
  const reached = new Map<string, { policy: CompiledPolicy; ids: Set<string> }>();
  for (const file of found.files) {
    const read = readCaseFile(file);
    if (!read.ok) {
      problems.push(...read.problems);
      continue;
    }
    const policy = await policyFor(read.value, opts, problems);
    if (policy === undefined) continue;
    let seen = reached.get(policy.file);
    if (seen === undefined) reached.set(policy.file, (seen = { policy, ids: new Set() }));
    const ruleIds = new Set(policy.rules.map((r) => r.id));
    // One clock per file: a file's cases fall in one rate-limit window, whatever the machine.
    const now = Date.now();
    for (const c of read.value.cases) {
      if (typeof c.rule === "string" && !ruleIds.has(c.rule)) {
        problems.push({
          file,
          ...c.ruleAt,
          code: "policy_test_case",
          message: `rule "${c.rule}" is not a rule of ${policy.file}${didYouMean(c.rule, ruleIds)}: name a key path as \`warden policy eval --explain\` prints it (ruleId)`,
        });
        continue;
      }
      const d = policy.check(c.action, { explain: true, now });
      if (d.code === "bad_action" && c.code !== "bad_action") {
        problems.push({
          file,
          ...c.actionAt,
          code: "policy_test_action",
          message: `case "${c.name}": the action is malformed (${d.reason}); write it as \`warden policy eval --action\` takes it (docs/policy.md, Actions)`,
        });
        continue;
      }
      if (d.ruleId !== undefined) seen.ids.add(d.ruleId);
      results.push(judge(file, policy.file, c, d));
    }
  }
  return {
    files: found.files.length,
    results,
    coverage: [...reached.values()].map(({ policy, ids }) => coverageOf(policy, ids)),
    problems,
  };
}

/** The policy a file's cases are judged against, compiled afresh (its own rate-limit state). */
async function policyFor(
  cf: CaseFile,
  opts: RunOptions,
  problems: Problem[],
): Promise<CompiledPolicy | undefined> {
  const path = opts.policy ?? cf.policy;
  if (path === undefined) {
    problems.push({
      file: cf.file,
      line: 1,
      col: 1,
      code: "policy_test_case",
      message:
        "the file names no policy: add `policy: <file>` (relative to this file) or pass --policy <file>",
    });
    return undefined;
  }
  const r = await loadPolicyFile(path);
  if (r.ok) return r.policy;
  for (const e of r.errors) {
    // A policy that cannot be read is the case file's problem when the file named it.
    if (e.code === "policy_file" && opts.policy === undefined && cf.policyAt !== undefined)
      problems.push({
        file: cf.file,
        ...cf.policyAt,
        code: e.code,
        message: `${path}: ${e.message}`,
      });
    else problems.push(e);
  }
  return undefined;
}

function judge(file: string, policy: string, c: Case, d: PolicyDecision): CaseResult {
  const got: CaseResult["got"] = {
    decision: d.effect,
    code: d.code,
    reason: d.reason,
    ruleId: d.ruleId ?? null,
    rule: d.rule ?? null,
    input: d.explanation?.input,
  };
  const expected: CaseResult["expected"] = { decision: c.expect };
  if (c.rule !== undefined) expected.rule = c.rule;
  if (c.code !== undefined) expected.code = c.code;
  const why: string[] = [];
  if (d.effect !== c.expect) why.push(`expected ${c.expect}, got ${d.effect}`);
  if (c.rule !== undefined && (d.ruleId ?? null) !== c.rule)
    why.push(`expected rule ${c.rule ?? "none"}, got ${d.ruleId ?? "none"}`);
  if (c.code !== undefined && d.code !== c.code) why.push(`expected code ${c.code}, got ${d.code}`);
  const base = { file, line: c.line, col: c.col, name: c.name, policy, expected, got };
  return why.length === 0
    ? { ...base, passed: true }
    : { ...base, passed: false, failure: why.join("; ") };
}

/**
 * A rule is reached when a decision named it, or named a rule inside it (the allowed hosts of
 * `mcp.transport.http` decide for it).
 */
function coverageOf(policy: CompiledPolicy, ids: ReadonlySet<string>): Coverage {
  const hit = (id: string) => {
    if (ids.has(id)) return true;
    for (const x of ids) if (x.startsWith(`${id}.`) || x.startsWith(`${id}[`)) return true;
    return false;
  };
  const line = (where: string) => Number(where.slice(where.lastIndexOf(":") + 1)) || 0;
  const unreached = policy.rules
    .filter((r) => !hit(r.id))
    .sort((a, b) => line(a.where) - line(b.where))
    .map((r) => ({ id: r.id, where: r.where, effect: r.effect }));
  return {
    policy: policy.file,
    rules: policy.rules.length,
    reached: policy.rules.length - unreached.length,
    unreached,
  };
}
