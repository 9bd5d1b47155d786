import type { Call } from "./call.js";
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
 * - `afterCall(call)`: runs after the target (or the bypass), in reverse order, and may rewrite
 *   or redact `call.result`. `call.error` holds what the target threw, if it did.
 */
export interface Strategy {
  readonly name: string;
  shouldBypass?(call: Call): boolean;
  beforeCall?(call: Call): Decision | undefined;
  afterCall?(call: Call): void;
}
