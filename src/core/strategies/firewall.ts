import type { Call } from "../call.js";
import { type Decision, decide } from "../decision.js";
import { WardenError } from "../errors.js";
import { compileNameGlob, isGlob } from "../glob.js";
import type { Strategy } from "../strategy.js";

export type FirewallEffect = "allow" | "deny";

/** One firewall rule; each field is an exact name or a glob (`*` = any). */
export interface FirewallRule {
  readonly effect: FirewallEffect;
  readonly source: string;
  readonly target: string;
  readonly function: string;
  /** A stable id for explanations: `allow#2`, or the id given to the builder. */
  readonly id: string;
}

interface CompiledRule {
  rule: FirewallRule;
  decision: Decision;
  src: (v: string) => boolean;
  tgt: (v: string) => boolean;
  fn: (v: string) => boolean;
}

/** Memo of decisions per (source, target, function); bounded so hostile names cannot grow it. */
const MEMO_LIMIT = 10_000;

/**
 * Firewall strategy. Precedence, in order:
 * 1. an explicit deny rule that matches blocks (deny beats allow, whatever the order of rules);
 * 2. else an explicit allow rule that matches allows;
 * 3. else the default (allow or deny, chosen when the builder was made).
 * Rules are compiled once; decisions are memoised per name triple (up to 10,000 triples).
 */
export class FirewallStrategy implements Strategy {
  readonly name: string;
  readonly defaultAllow: boolean;
  readonly rules: readonly FirewallRule[];
  readonly #deny: readonly CompiledRule[];
  readonly #allow: readonly CompiledRule[];
  readonly #defaultDecision: Decision;
  readonly #memo = new Map<string, Map<string, Map<string, Decision>>>();
  #memoSize = 0;

  constructor(name: string, defaultAllow: boolean, rules: readonly FirewallRule[]) {
    this.name = name;
    this.defaultAllow = defaultAllow;
    this.rules = Object.freeze(rules.map((r) => Object.freeze({ ...r })));
    const compile = (r: FirewallRule): CompiledRule => ({
      rule: r,
      decision: decide(
        r.effect === "deny" ? "block" : "allow",
        r.effect === "deny"
          ? `firewall "${name}" rule ${r.id} denies ${r.source} -> ${r.target}.${r.function}`
          : `firewall "${name}" rule ${r.id} allows ${r.source} -> ${r.target}.${r.function}`,
        name,
        { rule: r.id },
      ),
      src: compileNameGlob(r.source),
      tgt: compileNameGlob(r.target),
      fn: compileNameGlob(r.function),
    });
    this.#deny = Object.freeze(this.rules.filter((r) => r.effect === "deny").map(compile));
    this.#allow = Object.freeze(this.rules.filter((r) => r.effect === "allow").map(compile));
    this.#defaultDecision = decide(
      defaultAllow ? "allow" : "block",
      defaultAllow
        ? `firewall "${name}" allows by default: no rule matched`
        : `firewall "${name}" denies by default: no rule allows this call; add an allowFunction or allowSource rule for it`,
      name,
      { rule: "default" },
    );
  }

  /** The decision for a (source, target, function) triple, with the rule that made it. */
  explain(source: string, target: string, fn: string): Decision {
    for (const c of this.#deny) if (c.fn(fn) && c.tgt(target) && c.src(source)) return c.decision;
    for (const c of this.#allow) if (c.fn(fn) && c.tgt(target) && c.src(source)) return c.decision;
    return this.#defaultDecision;
  }

  beforeCall(call: Call): Decision | undefined {
    let byTarget = this.#memo.get(call.source);
    let byFn = byTarget?.get(call.target);
    const hit = byFn?.get(call.function);
    const d = hit ?? this.explain(call.source, call.target, call.function);
    if (hit === undefined && this.#memoSize < MEMO_LIMIT) {
      if (byTarget === undefined) {
        byTarget = new Map();
        this.#memo.set(call.source, byTarget);
      }
      if (byFn === undefined) {
        byFn = new Map();
        byTarget.set(call.target, byFn);
      }
      byFn.set(call.function, d);
      this.#memoSize++;
    }
    return d.verdict === "allow" ? undefined : d;
  }
}

function checkName(what: string, value: unknown, method: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new WardenError(
      "invalid_argument",
      `FirewallBuilder.${method}: ${what} must be a non-empty name or glob (use "*" for any), got ${JSON.stringify(value)}.`,
      { category: "usage", details: { method, argument: what } },
    );
  }
  if (isGlob(value)) {
    try {
      compileNameGlob(value); // refuses a malformed glob here, not on the first call
    } catch (e) {
      throw new WardenError(
        "invalid_argument",
        `FirewallBuilder.${method}: ${what} ${JSON.stringify(value)} is not a valid glob (${(e as Error).message}); the firewall reads the policy's name globs: * ? [abc] [!abc] {a,b}.`,
        { category: "usage", details: { method, argument: what } },
      );
    }
  }
  return value;
}

/**
 * Builds a firewall, as in wrt-intercept:
 * `new FirewallBuilder(false).allowFunction("a", "b", "f").allowSource("trusted", "b").denyFunction("*", "b", "rm").build()`.
 */
export class FirewallBuilder {
  readonly #defaultAllow: boolean;
  readonly #rules: FirewallRule[] = [];
  #name = "firewall";

  /** `defaultAllow`: what happens to a call no rule matches (false: deny, the safe default). */
  constructor(defaultAllow = false) {
    if (typeof defaultAllow !== "boolean") {
      throw new WardenError(
        "invalid_argument",
        "FirewallBuilder(defaultAllow): pass true (allow by default) or false (deny by default).",
        {
          category: "usage",
        },
      );
    }
    this.#defaultAllow = defaultAllow;
  }

  named(name: string): this {
    this.#name = checkName("name", name, "named");
    return this;
  }

  #add(
    effect: FirewallEffect,
    method: string,
    source: unknown,
    target: unknown,
    fn: unknown,
    id?: string,
  ): this {
    const rule: FirewallRule = {
      effect,
      source: checkName("source", source, method),
      target: checkName("target", target, method),
      function: checkName("function", fn, method),
      id: id ?? `${effect}#${this.#rules.filter((r) => r.effect === effect).length + 1}`,
    };
    this.#rules.push(rule);
    return this;
  }

  /** Allow `source` to call `target.function`. */
  allowFunction(source: string, target: string, fn: string, id?: string): this {
    return this.#add("allow", "allowFunction", source, target, fn, id);
  }

  /** Allow `source` to call any function of `target`. */
  allowSource(source: string, target: string, id?: string): this {
    return this.#add("allow", "allowSource", source, target, "*", id);
  }

  /** Deny `source` calling `target.function`; beats every allow. */
  denyFunction(source: string, target: string, fn: string, id?: string): this {
    return this.#add("deny", "denyFunction", source, target, fn, id);
  }

  /** Deny `source` calling anything on `target`; beats every allow. */
  denySource(source: string, target: string, id?: string): this {
    return this.#add("deny", "denySource", source, target, "*", id);
  }

  build(): FirewallStrategy {
    return new FirewallStrategy(this.#name, this.#defaultAllow, this.#rules);
  }
}
