import type { Call, CallMeta } from "./call.js";
import type { Decision } from "./decision.js";

/**
 * A strategy is one judge or observer in a chain. Every hook is optional; a chain pays nothing
 * for hooks no strategy has.
 *
 * - `shouldBypass(call)`: true means the target is not invoked. The result the caller gets is
 *   `call.result` if a strategy set it in `beforeCall`, else the (possibly rewritten) `call.args`,
 *   as in wrt-intercept. `afterCall` hooks still run on that result.
 * - `beforeCall(call)`: may rewrite `call.args` in place, and returns a decision or nothing.
 *   A `block` stops the chain at once (later strategies do not run); any other verdict is
 *   combined with the others and the strictest wins.
 * - `beforeCallAsync(call)`: the same, for a judge that has to wait (a guard in a worker, a rate
 *   limit on shared state, a person's review, a host call that waits). A strategy has one
 *   before hook or the other, never both. A chain with any async strategy is asynchronous
 *   (`chain.async`): it is judged with `beforeAsync`; a chain without one keeps the synchronous
 *   path, which awaits nothing.
 * - `afterCall(call)`: runs after the target (or the bypass), in reverse order, and may rewrite
 *   or redact `call.result`. `call.error` holds what the target threw, if it did.
 * - `priority`: where the strategy sits in its chain: lower first; equal priorities (and
 *   strategies without one, which count as 0) keep the order they were given in.
 *
 * `M` is the shape of `call.meta` the strategy reads (see `CallMeta`).
 */
export interface Strategy<M extends CallMeta = CallMeta> {
  readonly name: string;
  readonly priority?: number;
  shouldBypass?(call: Call<M>): boolean;
  beforeCall?(call: Call<M>): Decision | undefined;
  beforeCallAsync?(call: Call<M>): Promise<Decision | undefined>;
  afterCall?(call: Call<M>): void;
}
