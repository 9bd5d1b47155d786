/** What `warden policy test` prints: failures with their explanation, a summary, coverage. */
import type { Problem } from "./cases.js";
import type { CaseResult, Coverage, TestRun } from "./run.js";

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col} ${p.code} ${p.message}`;
}

function decided(d: { decision: string; ruleId: string | null; rule: string | null }): string {
  return d.ruleId === null ? `${d.decision} (no rule)` : `${d.decision} by ${d.ruleId} (${d.rule})`;
}

/** One failed (or, verbose, passed) case as text lines. */
export function formatResult(r: CaseResult): string[] {
  const head = `${r.passed ? "PASS" : "FAIL"} ${r.file}:${r.line}:${r.col} ${r.name}`;
  if (r.passed) return [head];
  const want = [
    r.expected.decision,
    r.expected.rule === undefined ? "" : ` by ${r.expected.rule ?? "no rule"}`,
    r.expected.code === undefined ? "" : `, code ${r.expected.code}`,
  ].join("");
  return [
    head,
    `  ${r.failure}`,
    `  expected: ${want}`,
    `  got:      ${decided(r.got)}, code ${r.got.code}`,
    `  reason:   ${r.got.reason}`,
    `  input:    ${JSON.stringify(r.got.input)}`,
    `  policy:   ${r.policy}`,
  ];
}

export function formatCoverage(c: Coverage): string[] {
  const head = `coverage ${c.policy}: ${c.reached} of ${c.rules} rules reached`;
  if (c.unreached.length === 0) return [head];
  return [
    `${head}; no case reached:`,
    ...c.unreached.map((r) => `  ${r.id} (${r.where}, ${r.effect})`),
  ];
}

export function summary(run: TestRun): string {
  const failed = run.results.filter((r) => !r.passed).length;
  const passed = run.results.length - failed;
  return `${failed === 0 ? "PASS" : "FAIL"}: ${passed} passed, ${failed} failed (${run.results.length} case${run.results.length === 1 ? "" : "s"} in ${run.files} file${run.files === 1 ? "" : "s"})`;
}

/** The `--json` document: every case, the counts, and coverage when asked. */
export function toJson(run: TestRun, coverage: boolean): Record<string, unknown> {
  const failed = run.results.filter((r) => !r.passed).length;
  return {
    ok: failed === 0,
    passed: run.results.length - failed,
    failed,
    files: run.files,
    cases: run.results,
    ...(coverage ? { coverage: run.coverage } : {}),
  };
}
