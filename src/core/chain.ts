import type { Call, CallMeta } from "./call.js";
import { ALLOW, type Decision, isVerdict, rank } from "./decision.js";
import { WardenError } from "./errors.js";
import type { Strategy } from "./strategy.js";

type Before<M extends CallMeta> = (call: Call<M>) => Decision | undefined;
type BeforeAsync<M extends CallMeta> = (
  call: Call<M>,
) => Decision | undefined | Promise<Decision | undefined>;
type After<M extends CallMeta> = (call: Call<M>) => void;
type Bypass<M extends CallMeta> = (call: Call<M>) => boolean;

const BLOCK_RANK = rank("block");
const REVIEW_RANK = rank("review");
const HOOKS = ["beforeCall", "beforeCallAsync", "afterCall", "shouldBypass"] as const;

/**
 * An interceptor chain: strategies composed and validated once, then run on every call.
 * Composition orders the strategies by `priority` (lower first, ties in the order given) and
 * decides the chain's async story once: with no `beforeCallAsync` hook the chain is synchronous
 * (`before`, `invoke`: no promise, no await); with one it is asynchronous (`beforeAsync`,
 * `invokeAsync`), and `before` refuses to run it rather than skip a judge.
 * The per-call path does no validation, allocates nothing of its own when nothing objects,
 * and skips hook kinds no strategy has (their lists are `null`).
 */
export class Chain<M extends CallMeta = CallMeta> {
  readonly name: string;
  /** The strategies in the order they run (by priority). */
  readonly strategies: readonly Strategy<M>[];
  /** True when some strategy's before hook has to be awaited (`beforeCallAsync`). */
  readonly async: boolean;
  readonly #before: Before<M>[] | null;
  /** Every before hook in order, sync and async, for `beforeAsync` (null when none). */
  readonly #beforeAll: BeforeAsync<M>[] | null;
  readonly #after: After<M>[] | null;
  readonly #bypass: Bypass<M>[] | null;

  constructor(name: string, strategies: readonly Strategy<M>[] = []) {
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
      for (const hook of HOOKS) {
        const h = s[hook];
        if (h !== undefined && typeof h !== "function") {
          throw new WardenError(
            "invalid_strategy",
            `Chain "${name}": strategy "${s.name}" has a ${hook} that is not a function.`,
            { category: "usage", details: { chain: name, strategy: s.name, hook } },
          );
        }
      }
      if (s.priority !== undefined && !Number.isFinite(s.priority) && s.priority !== -Infinity) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": strategy "${s.name}" has priority ${String(s.priority)}; give a number (lower runs first) or none.`,
          { category: "usage", details: { chain: name, strategy: s.name } },
        );
      }
      if (s.beforeCall && s.beforeCallAsync) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": strategy "${s.name}" has both beforeCall and beforeCallAsync; keep one (beforeCallAsync when it has to wait).`,
          { category: "usage", details: { chain: name, strategy: s.name } },
        );
      }
      if (!s.beforeCall && !s.beforeCallAsync && !s.afterCall && !s.shouldBypass) {
        throw new WardenError(
          "invalid_strategy",
          `Chain "${name}": strategy "${s.name}" has no beforeCall, beforeCallAsync, afterCall or shouldBypass hook, so it would do nothing.`,
          { category: "usage", details: { chain: name, strategy: s.name } },
        );
      }
    }
    // Stable: equal priorities keep the order given.
    const ordered = strategies
      .map((s, i) => ({ s, i }))
      .sort((a, b) => (a.s.priority ?? 0) - (b.s.priority ?? 0) || a.i - b.i)
      .map((x) => x.s);
    const before: Before<M>[] = [];
    const beforeAll: BeforeAsync<M>[] = [];
    const after: After<M>[] = [];
    const bypass: Bypass<M>[] = [];
    let async = false;
    for (const s of ordered) {
      if (s.beforeCall) {
        const h = s.beforeCall.bind(s);
        before.push(h);
        beforeAll.push(h);
      } else if (s.beforeCallAsync) {
        beforeAll.push(s.beforeCallAsync.bind(s));
        async = true;
      }
      if (s.shouldBypass) bypass.push(s.shouldBypass.bind(s));
    }
    // after hooks run in reverse order (the first strategy sees the final result last).
    for (let i = ordered.length - 1; i >= 0; i--) {
      const s = ordered[i]!;
      if (s.afterCall) after.push(s.afterCall.bind(s));
    }
    this.name = name;
    this.strategies = Object.freeze(ordered);
    this.async = async;
    this.#before = before.length > 0 ? before : null;
    this.#beforeAll = beforeAll.length > 0 ? beforeAll : null;
    this.#after = after.length > 0 ? after : null;
    this.#bypass = bypass.length > 0 ? bypass : null;
    Object.freeze(this);
  }

  /** True when some strategy has an afterCall hook (callers may skip `after` otherwise). */
  get hasAfter(): boolean {
    return this.#after !== null;
  }

  /**
   * Judge a call before its target runs, synchronously. Returns `ALLOW` (a shared frozen
   * object) when no strategy objected, else the strictest decision; a `block` returns at once.
   * An asynchronous chain (`chain.async`) is refused: judge it with `beforeAsync`.
   */
  before(call: Call<M>): Decision {
    call.phase = "before";
    if (this.async) throw this.#asyncMisuse();
    const hooks = this.#before;
    if (hooks === null) return ALLOW;
    let out = ALLOW;
    let outRank = 0;
    for (let i = 0; i < hooks.length; i++) {
      const d = hooks[i]!(call);
      if (d === undefined) continue;
      const r = this.#rank(d);
      if (r >= BLOCK_RANK) return d;
      if (r > outRank) {
        out = d;
        outRank = r;
      }
    }
    return out;
  }

  /**
   * As `before`, awaiting the strategies that have to wait (`beforeCallAsync`), in the same
   * order with the same rules. Works on every chain; on a synchronous one it is `before`.
   */
  async beforeAsync(call: Call<M>): Promise<Decision> {
    if (!this.async) return this.before(call);
    call.phase = "before";
    const hooks = this.#beforeAll!;
    let out = ALLOW;
    let outRank = 0;
    for (let i = 0; i < hooks.length; i++) {
      let d = hooks[i]!(call);
      if (d !== undefined && typeof (d as Promise<unknown>).then === "function") d = await d;
      if (d === undefined) continue;
      const r = this.#rank(d as Decision);
      if (r >= BLOCK_RANK) return d as Decision;
      if (r > outRank) {
        out = d as Decision;
        outRank = r;
      }
    }
    return out;
  }

  /** True when a strategy asks to skip the target. */
  bypass(call: Call<M>): boolean {
    const hooks = this.#bypass;
    if (hooks === null) return false;
    for (let i = 0; i < hooks.length; i++) if (hooks[i]!(call)) return true;
    return false;
  }

  /** Let strategies see (and rewrite) the result. Reads and returns `call.result`. */
  after(call: Call<M>): unknown {
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
  invoke(call: Call<M>, target: (args: unknown) => unknown): Decision {
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

  /** As `invoke`, for a target that returns a promise and for asynchronous chains. */
  async invokeAsync(call: Call<M>, target: (args: unknown) => unknown): Promise<Decision> {
    const decision = this.async ? await this.beforeAsync(call) : this.before(call);
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

  /** The rank of a hook's answer; anything that is not a decision fails closed. */
  #rank(d: Decision): number {
    const v = (d as { verdict?: unknown } | null)?.verdict;
    if (isVerdict(v)) return rank(v);
    throw new WardenError(
      "invalid_strategy",
      `Chain "${this.name}": a before hook returned ${typeof (d as unknown as Promise<unknown>)?.then === "function" ? "a promise (an async judge belongs in beforeCallAsync)" : "something that is not a decision"}; the call is refused.`,
      { category: "usage", details: { chain: this.name } },
    );
  }

  #asyncMisuse(): WardenError {
    const names = this.strategies.filter((s) => s.beforeCallAsync).map((s) => s.name);
    return new WardenError(
      "invalid_strategy",
      `Chain "${this.name}" is asynchronous (${names.join(", ")} must be awaited): judge with beforeAsync or invokeAsync, not before or invoke.`,
      { category: "usage", details: { chain: this.name, strategies: names } },
    );
  }

  /** True (and the result supplied) when a strategy skips the target. */
  #bypassed(call: Call<M>): boolean {
    if (this.#bypass === null || !this.bypass(call)) return false;
    call.bypassed = true;
    if (call.result === undefined) call.result = call.args;
    return true;
  }

  #failed(call: Call<M>, error: unknown): never {
    call.error = error;
    this.after(call);
    throw error;
  }

  #finish(call: Call<M>): void {
    if (this.#after !== null) this.after(call);
    else call.phase = "after";
  }
}

/** Compose a chain; the same as `new Chain(name, strategies)`. */
export function composeChain<M extends CallMeta = CallMeta>(
  name: string,
  strategies: readonly Strategy<M>[],
): Chain<M> {
  return new Chain(name, strategies);
}
