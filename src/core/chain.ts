import type { Call } from "./call.js";
import { ALLOW, type Decision, rank } from "./decision.js";
import { WardenError } from "./errors.js";
import type { Strategy } from "./strategy.js";

type Before = (call: Call) => Decision | undefined;
type After = (call: Call) => void;
type Bypass = (call: Call) => boolean;

const BLOCK_RANK = rank("block");
const REVIEW_RANK = rank("review");

/**
 * An interceptor chain: strategies composed and validated once, then run on every call.
 * The per-call path does no validation, allocates nothing of its own when nothing objects,
 * and skips hook kinds no strategy has (their lists are `null`).
 */
export class Chain {
  readonly name: string;
  readonly strategies: readonly Strategy[];
  readonly #before: Before[] | null;
  readonly #after: After[] | null;
  readonly #bypass: Bypass[] | null;

  constructor(name: string, strategies: readonly Strategy[] = []) {
    if (typeof name !== "string" || name.length === 0) {
      throw new WardenError(
        "invalid_argument",
        "A chain needs a non-empty name: pass one to new Chain(name, strategies).",
        {
          category: "usage",
        },
      );
    }
    const seen = new Set<string>();
    const before: Before[] = [];
    const after: After[] = [];
    const bypass: Bypass[] = [];
    for (const [i, s] of strategies.entries()) {
      if (
        typeof s !== "object" ||
        s === null ||
        typeof s.name !== "string" ||
        s.name.length === 0
      ) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": strategy #${i} has no name. Give every strategy a unique non-empty \`name\`.`,
          { category: "usage", details: { chain: name, index: i } },
        );
      }
      if (seen.has(s.name)) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": two strategies are named "${s.name}". Rename one so decisions say which strategy made them.`,
          { category: "usage", details: { chain: name, strategy: s.name } },
        );
      }
      seen.add(s.name);
      for (const hook of ["beforeCall", "afterCall", "shouldBypass"] as const) {
        const h = s[hook];
        if (h !== undefined && typeof h !== "function") {
          throw new WardenError(
            "invalid_strategy",
            `Chain "${name}": strategy "${s.name}" has a ${hook} that is not a function.`,
            { category: "usage", details: { chain: name, strategy: s.name, hook } },
          );
        }
      }
      if (!s.beforeCall && !s.afterCall && !s.shouldBypass) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": strategy "${s.name}" has no beforeCall, afterCall or shouldBypass hook, so it would do nothing.`,
          { category: "usage", details: { chain: name, strategy: s.name } },
        );
      }
      if (s.beforeCall) before.push(s.beforeCall.bind(s));
      if (s.shouldBypass) bypass.push(s.shouldBypass.bind(s));
    }
    // after hooks run in reverse order (the first strategy sees the final result last).
    for (let i = strategies.length - 1; i >= 0; i--) {
      const s = strategies[i]!;
      if (s.afterCall) after.push(s.afterCall.bind(s));
    }
    this.name = name;
    this.strategies = Object.freeze([...strategies]);
    this.#before = before.length > 0 ? before : null;
    this.#after = after.length > 0 ? after : null;
    this.#bypass = bypass.length > 0 ? bypass : null;
    Object.freeze(this);
  }

  /** True when some strategy has an afterCall hook (callers may skip `after` otherwise). */
  get hasAfter(): boolean {
    return this.#after !== null;
  }

  /**
   * Judge a call before its target runs. Returns `ALLOW` (a shared frozen object) when no
   * strategy objected, else the strictest decision; a `block` returns at once.
   */
  before(call: Call): Decision {
    call.phase = "before";
    const hooks = this.#before;
    if (hooks === null) return ALLOW;
    let out = ALLOW;
    let outRank = 0;
    for (let i = 0; i < hooks.length; i++) {
      const d = hooks[i]!(call);
      if (d === undefined) continue;
      const r = rank(d.verdict);
      if (r >= BLOCK_RANK) return d;
      if (r > outRank) {
        out = d;
        outRank = r;
      }
    }
    return out;
  }

  /** True when a strategy asks to skip the target. */
  bypass(call: Call): boolean {
    const hooks = this.#bypass;
    if (hooks === null) return false;
    for (let i = 0; i < hooks.length; i++) if (hooks[i]!(call)) return true;
    return false;
  }

  /** Let strategies see (and rewrite) the result. Reads and returns `call.result`. */
  after(call: Call): unknown {
    call.phase = "after";
    const hooks = this.#after;
    if (hooks !== null) for (let i = 0; i < hooks.length; i++) hooks[i]!(call);
    return call.result;
  }

  /**
   * The whole life of a synchronous call: judge, run (unless bypassed or refused), let
   * strategies see the result. Returns the final decision; the result is left in `call.result`
   * and `call.bypassed` says whether a strategy skipped the target. When the decision is
   * `review` or `block` the target did not run and no after hook ran. An error thrown by the
   * target is recorded on `call.error`, shown to after hooks, then rethrown.
   * Allocation-free: nothing is created per call beyond what strategies create.
   */
  invoke(call: Call, target: (args: unknown) => unknown): Decision {
    const decision = this.before(call);
    if (rank(decision.verdict) >= REVIEW_RANK) return decision;
    if (!this.#bypassed(call)) {
      try {
        call.result = target(call.args);
      } catch (error) {
        this.#failed(call, error);
      }
    }
    this.#finish(call);
    return decision;
  }

  /** As `invoke`, for a target that returns a promise. */
  async invokeAsync(call: Call, target: (args: unknown) => unknown): Promise<Decision> {
    const decision = this.before(call);
    if (rank(decision.verdict) >= REVIEW_RANK) return decision;
    if (!this.#bypassed(call)) {
      try {
        call.result = await target(call.args);
      } catch (error) {
        this.#failed(call, error);
      }
    }
    this.#finish(call);
    return decision;
  }

  /** True (and the result supplied) when a strategy skips the target. */
  #bypassed(call: Call): boolean {
    if (this.#bypass === null || !this.bypass(call)) return false;
    call.bypassed = true;
    if (call.result === undefined) call.result = call.args;
    return true;
  }

  #failed(call: Call, error: unknown): never {
    call.error = error;
    this.after(call);
    throw error;
  }

  #finish(call: Call): void {
    if (this.#after !== null) this.after(call);
    else call.phase = "after";
  }
}

/** Compose a chain; the same as `new Chain(name, strategies)`. */
export function composeChain(name: string, strategies: readonly Strategy[]): Chain {
  return new Chain(name, strategies);
}
