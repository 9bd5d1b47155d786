/**
 * A compiled set of rules and their evaluation (Acteon's semantics): rules in priority order
 * (lower first, file order on ties); the first rule whose conditions hold decides with its
 * action; `allow` ends rule evaluation with nothing to object. A rule that cannot be evaluated
 * (its plugin failed, a CEL error) takes its on_error (default deny: fail closed), or with
 * `skip` counts as not matching. Frozen once built; evaluation does no parsing.
 */
import { isWardenError } from "../core/errors.js";
import type { CompiledCel } from "./cel.js";
import type { Condition } from "./conditions.js";
import { invokePlugin } from "./invoke.js";
import type {
  ActionContext,
  ConditionTrace,
  OnError,
  RuleAction,
  RulePlugins,
  RulesOutcome,
  RuleTrace,
  WasmDetails,
} from "./types.js";

export interface CompiledRule {
  readonly name: string;
  /** `file:line` of the rule's entry. */
  readonly where: string;
  readonly priority: number;
  readonly description: string | undefined;
  readonly enabled: boolean;
  readonly source: "yaml" | "cel" | "wasm_plugin";
  readonly action: RuleAction;
  readonly onError: OnError;
  readonly conditions: Condition | undefined;
  readonly cel: CompiledCel | undefined;
  readonly plugin: { readonly name: string; readonly fn: string } | undefined;
}

const NONE: RulesOutcome = Object.freeze({
  action: null,
  rule: null,
  where: null,
  reason: "no rule matched",
});

function failure(e: unknown): { code: string; message: string } {
  return isWardenError(e)
    ? { code: e.code, message: e.message }
    : {
        code: "rules_eval_failed",
        message: e instanceof Error ? e.message.split("\n")[0]! : String(e),
      };
}

export class RuleSet {
  readonly file: string;
  readonly rules: readonly CompiledRule[];
  /** The enabled rules, in evaluation order. */
  readonly #active: readonly CompiledRule[];
  #plugins: RulePlugins | undefined;

  /** `rules` in evaluation order (load.ts sorts them: priority, then file order). */
  constructor(file: string, rules: readonly CompiledRule[], plugins?: RulePlugins) {
    this.file = file;
    this.rules = Object.freeze([...rules]);
    this.#active = Object.freeze(rules.filter((r) => r.enabled));
    this.#plugins = plugins;
  }

  get plugins(): RulePlugins | undefined {
    return this.#plugins;
  }

  /** The same rules calling other plugins (the admin registry replacing a directory). */
  withPlugins(plugins: RulePlugins | undefined): RuleSet {
    return new RuleSet(this.file, this.rules, plugins);
  }

  /** The plugins the rules call, by name (for messages and a registry's checks). */
  pluginNames(): string[] {
    const out = new Set<string>();
    for (const r of this.rules) {
      if (r.plugin) out.add(r.plugin.name);
      for (const p of r.cel?.plugins ?? []) out.add(p.plugin);
    }
    return [...out];
  }

  /** Whether one rule matches `ctx` (throws when it cannot be evaluated). */
  #matches(r: CompiledRule, ctx: ActionContext): boolean {
    if (r.conditions !== undefined && !r.conditions.test(ctx)) return false;
    if (r.cel !== undefined && r.cel.evaluate(ctx, this.#plugins) !== true) return false;
    if (r.plugin !== undefined)
      return invokePlugin(this.#plugins, r.plugin.name, r.plugin.fn, ctx, undefined);
    return true;
  }

  /** The rules' decision on `ctx`; with `trace`, how each rule was judged. */
  evaluate(ctx: ActionContext, opts: { trace?: boolean } = {}): RulesOutcome {
    if (opts.trace === true) return this.#traced(ctx);
    for (const r of this.#active) {
      let hit: boolean;
      try {
        hit = this.#matches(r, ctx);
      } catch (e) {
        if (r.onError === "skip") continue;
        return errored(r, failure(e));
      }
      if (hit) return matched(r);
    }
    return NONE;
  }

  #traced(ctx: ActionContext): RulesOutcome {
    const trace: RuleTrace[] = [];
    let out: RulesOutcome | undefined;
    for (const r of this.rules) {
      const t: RuleTrace = {
        rule_name: r.name,
        where: r.where,
        priority: r.priority,
        source: r.source,
        result: "not_matched",
        action: r.action,
      };
      trace.push(t);
      if (!r.enabled) {
        t.result = "disabled";
        continue;
      }
      if (out !== undefined) {
        t.result = "not_reached";
        continue;
      }
      const conds: ConditionTrace[] = [];
      const details: WasmDetails[] = [];
      let hit = false;
      try {
        hit = r.conditions === undefined || r.conditions.explain(ctx, conds);
        if (hit && r.cel !== undefined) {
          const value = r.cel.evaluate(ctx, this.#plugins, details);
          t.cel = {
            expression: r.cel.expression,
            value: typeof value === "bigint" ? Number(value) : value,
          };
          hit = value === true;
        }
        if (hit && r.plugin !== undefined)
          hit = invokePlugin(this.#plugins, r.plugin.name, r.plugin.fn, ctx, details);
      } catch (e) {
        const f = failure(e);
        t.error = { ...f, on_error: r.onError };
        t.result = r.onError === "skip" ? "skipped" : "error";
        if (r.onError !== "skip") out = errored(r, f);
      }
      if (conds.length > 0) t.conditions = conds;
      if (details.length > 0) t.wasm_details = details;
      if (t.error === undefined && hit) {
        t.result = "matched";
        out = matched(r);
      }
    }
    return { ...(out ?? NONE), trace };
  }
}

function matched(r: CompiledRule): RulesOutcome {
  const why =
    r.description ?? (r.plugin ? `plugin ${r.plugin.name} said true` : "its conditions hold");
  const out: RulesOutcome = {
    action: r.action,
    rule: r.name,
    where: r.where,
    reason: `rule "${r.name}" (${r.where}) matched: ${why}`,
  };
  // the stable code a refusal is answered with (docs/errors.md, rules)
  if (r.action === "deny" || r.action === "review") {
    const code = r.action === "deny" ? "rule_denied" : "rule_review";
    out.code = code;
  }
  return out;
}

function errored(r: CompiledRule, f: { code: string; message: string }): RulesOutcome {
  const code = f.code === "rules_plugin_failed" ? "rule_plugin_error" : "rule_eval_error";
  return {
    action: r.onError as RuleAction,
    rule: r.name,
    where: r.where,
    reason: `rule "${r.name}" (${r.where}) could not be evaluated (${f.code}: ${f.message}); its on_error is ${r.onError}`,
    code,
  };
}
