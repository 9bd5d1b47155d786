import { markDeepFrozen } from "./freeze.js";
import type { PolicyState, RuleLimiter } from "./rate-limit.js";
import { makeDecision, type Rule, stableJson } from "./rule.js";
import { keyOf, type Path, type SourceText } from "./source.js";
import type { DeferredLimits, Effect, RealPath } from "./types.js";

/** What a permission type's compiler gets: the source (for positions) and a rule factory. */
export class CompileContext {
  readonly source: SourceText;
  /** Rate-limit state (kept across swaps); rules take their limiters from it. */
  readonly state: PolicyState;
  /** Content keys of rules with rate limits, so a swap can drop the state of removed rules. */
  readonly rateKeys = new Set<string>();
  /** Rules per group (`storage`, `mcp.tools`...) and effect, for the summary. */
  readonly counts: Record<string, { allow: number; deny: number }> = {};
  /** Every rule made, in the order made (`CompiledPolicy.rules`). */
  readonly rules: Rule[] = [];
  #next = 0;

  constructor(source: SourceText, state: PolicyState) {
    this.source = source;
    this.state = state;
  }

  /**
   * The limiter for a rule with `max_calls_per_minute`, keyed by the rule's content (its group
   * and canonical JSON, not its line), so the state survives swaps while the rule is unchanged.
   */
  limiter(rule: Rule, value: unknown, perMinute: number): RuleLimiter {
    const group = rule.id.replace(/\[\d+\]/g, "");
    const key = `${group}:${stableJson(value)}`;
    this.rateKeys.add(key);
    return this.state.limiter(key, perMinute);
  }

  get file(): string {
    return this.source.file;
  }

  /** True when the source writes a value at `path` (a section given, not defaulted). */
  has(path: Path): boolean {
    let v: unknown = this.source.value;
    for (const p of path) {
      if (v === null || typeof v !== "object" || !Object.hasOwn(v, p)) return false;
      v = (v as Record<string | number, unknown>)[p];
    }
    return v !== undefined;
  }

  error(path: Path, code: string, message: string): void {
    this.source.error(path, code, message);
  }

  /** A rule at `path` with its preallocated decision; `value` is its content. */
  rule(path: Path, effect: Effect): Rule {
    const id = this.source.idOf?.(path) ?? keyOf(path);
    // The group: the path's names without allow/deny (and a leading `permissions`).
    let group = "";
    for (let i = 0; i < path.length; i++) {
      const p = path[i]!;
      if (typeof p !== "string" || p === "allow" || p === "deny") continue;
      if (i === 0 && p === "permissions") continue;
      group = group === "" ? p : `${group}.${p}`;
    }
    if (group === "") group = "(top level)";
    const count = (this.counts[group] ??= { allow: 0, deny: 0 });
    count[effect]++;
    const where = this.source.where(path);
    // Frozen all the way down: strings and a decision of strings (see `markDeepFrozen`). The
    // decision is marked too: rules that extend this one (`{...rule, params}`) keep it.
    const decision = markDeepFrozen(
      makeDecision(
        effect,
        effect === "allow" ? "allow_rule" : "deny_rule",
        `${effect === "allow" ? "allowed" : "denied"} by ${id} (${where})`,
        { id, where },
      ),
    );
    const rule = markDeepFrozen(
      Object.freeze({ index: this.#next++, id, where, effect, decision }),
    );
    this.rules.push(rule);
    return rule;
  }
}

/** Per-check context handed to matchers. */
export interface CheckContext {
  /** Milliseconds, for rate limits. */
  now: number;
  explain: boolean;
  readonly state: PolicyState;
  /** Set by a matcher (when `explain`) to the canonical input it judged. */
  input: unknown;
  /** Resolves paths through the host's file system (see `CheckOptions.realPath`), if given. */
  realPath: RealPath | undefined;
  /** Rate limits the host takes itself (see `CheckOptions.limits`), if given. */
  limits: DeferredLimits | undefined;
}
