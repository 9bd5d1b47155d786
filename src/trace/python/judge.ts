/**
 * `/judge` for the Python agent (docs/trace.md, "The Python agent"): the agent asks before a
 * hooked call goes on, and `warden run` answers with the same judge the Node agent runs
 * in-process (`Judge`: Warden's compiled policy, paths resolved through the real file system,
 * symbolic links followed), so both runtimes get one decision for one operation. Function
 * names (`os.system`, `subprocess.Popen`) are judged by the `python` section.
 */
import type { Verdict } from "../../core/decision.js";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { PolicyDecision } from "../../policy/types.js";
import type { Op, OpKind } from "../actions.js";
import { Judge } from "../agent/judge.js";
import type { JudgeAnswer, Judgement, JudgeOp, JudgeRequest } from "../protocol.js";

const KINDS: ReadonlySet<string> = new Set<OpKind>([
  "read",
  "write",
  "connect",
  "http",
  "dns",
  "exec",
  "dlopen",
]);

const NOT_NAMED: Judgement = Object.freeze({ verdict: "allow" });

function judgement(verdict: Verdict, d: PolicyDecision | undefined): Judgement {
  if (d === undefined) return { verdict };
  const j: { verdict: Verdict; rule?: string; rule_id?: string; reason?: string } = {
    verdict,
    reason: d.reason,
  };
  if (d.rule !== undefined) j.rule = d.rule;
  if (d.ruleId !== undefined) j.rule_id = d.ruleId;
  return j;
}

/** The `/judge` handler for a run's policy and the sections it has. */
export function pythonJudge(
  policy: CompiledPolicy,
  sections: readonly string[],
): (r: JudgeRequest) => JudgeAnswer {
  const judge = new Judge(policy, sections);
  const runtimes = new Set(sections.filter((s) => s === "python" || s === "nodejs"));
  const fn = (runtime: "python" | "nodejs", name: string): Judgement => {
    if (!runtimes.has(runtime)) return NOT_NAMED;
    const d = policy.check({ kind: `${runtime}.call`, name });
    const verdict = d.verdict ?? (d.allowed ? "allow" : "block");
    // A function no rule names and the section's default lets go is not reported (its effect,
    // a file or a connect, is judged by its own section); `default: deny` or `warn` still is.
    if ((d.code === "default_rule" || d.code === "no_rule") && verdict === "allow")
      return NOT_NAMED;
    return judgement(verdict, d);
  };
  const one = (o: JudgeOp): Judgement => {
    if (!KINDS.has(o.kind))
      return { verdict: "block", reason: `an operation of unknown kind ${o.kind}` };
    const op: Op = {
      kind: o.kind as OpKind,
      target: o.target,
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.method !== undefined ? { method: o.method } : {}),
      ...(o.argv !== undefined ? { argv: o.argv } : {}),
    };
    const j = judge.op(op);
    return judgement(j.verdict, j.decision);
  };
  return (r) => {
    const runtime = r.runtime ?? "python";
    const out: { fns?: Judgement[]; op?: Judgement; ops?: Judgement[] } = {};
    if (r.fns !== undefined) out.fns = r.fns.map((n) => fn(runtime, n));
    if (r.op !== undefined) out.op = one(r.op);
    if (r.ops !== undefined) out.ops = r.ops.map(one);
    return out;
  };
}
