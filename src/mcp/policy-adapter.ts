/**
 * The gateway's only contact with the policy layer: load, reload (keeping rate-limit state)
 * and check. Everything policy-specific the gateway needs goes through this file.
 */
import { readFileSync } from "node:fs";
import {
  type Action,
  type CheckOptions,
  type CompiledPolicy,
  compilePolicy,
  type PolicyError,
  resolveRealPathSync,
} from "../policy/index.js";

/** What the gateway asks the policy about (see docs/gateway.md, "What the policy sees"). */
export type PolicyAction = Action;

export interface PolicyVerdict {
  readonly allowed: boolean;
  readonly reason: string;
  /** Why: allow_rule, deny_rule, no_rule, condition, rate_limited, bad_action, not_canonical. */
  readonly code?: string;
  /** `file:line` of the deciding rule, when a rule decided. */
  readonly rule?: string;
  readonly ruleId?: string;
}

export interface LoadedPolicy {
  readonly file: string;
  /** `opts`: `ON_THIS_HOST` for upstreams whose paths name this host's files. */
  check(action: PolicyAction, opts?: CheckOptions): PolicyVerdict;
  readonly compiled: CompiledPolicy;
}

export type PolicyIssue = PolicyError;

/** Compile the policy file; `previous` carries rate-limit state across a reload. */
export function loadPolicy(
  file: string,
  previous?: LoadedPolicy,
): { ok: true; policy: LoadedPolicy } | { ok: false; errors: PolicyIssue[] } {
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (e) {
    const message = `cannot read the policy file: ${(e as Error).message}. Fix the "policy:" path in the gateway config.`;
    return {
      ok: false,
      errors: [{ file, line: 1, col: 1, code: "policy_file", key: "policy", message }],
    };
  }
  const r =
    previous === undefined
      ? compilePolicy(source, { file })
      : compilePolicy(source, { file, state: previous.compiled.state });
  if (!r.ok) return { ok: false, errors: r.errors };
  const p = r.policy;
  return {
    ok: true,
    policy: { file, compiled: p, check: (action, opts) => p.check(action, opts) },
  };
}

/**
 * Check options for an upstream with `paths: local`: every path the policy judges (path
 * arguments, `file:` resource URIs, roots) is resolved through this host's file system
 * (symbolic links followed, see `resolveRealPathSync`) and judged as the file it opens.
 * One frozen object: the per-call path allocates nothing for it.
 */
export const ON_THIS_HOST: CheckOptions = Object.freeze({ realPath: resolveRealPathSync });

/** After a swap: drop the counters of rate-limited rules the new policy no longer has. */
export function retainState(next: LoadedPolicy): void {
  next.compiled.state.retain(next.compiled.rateKeys);
}
