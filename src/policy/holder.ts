import type { CompiledPolicy } from "./policy.js";
import type { CheckOptions, PolicyDecision } from "./types.js";

/**
 * Holds the policy in force and swaps it atomically: a check runs entirely against the policy
 * it started with (JavaScript runs one check at a time), the next one sees the new policy.
 * On a swap the state of rate-limited rules that are gone is dropped; unchanged rules keep
 * their counters when the new policy was compiled with `{ state: holder.current.state }`.
 */
export class PolicyHolder {
  #current: CompiledPolicy;
  #listeners: ((next: CompiledPolicy, previous: CompiledPolicy) => void)[] = [];

  constructor(initial: CompiledPolicy) {
    this.#current = initial;
  }

  get current(): CompiledPolicy {
    return this.#current;
  }

  /** Put `next` in force; returns the previous policy. */
  swap(next: CompiledPolicy): CompiledPolicy {
    const previous = this.#current;
    this.#current = next;
    if (next.state === previous.state) next.state.retain(next.rateKeys);
    for (const l of this.#listeners) l(next, previous);
    return previous;
  }

  /** Be told after each swap (for logs and metrics). */
  onSwap(listener: (next: CompiledPolicy, previous: CompiledPolicy) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  check(action: unknown, opts?: CheckOptions): PolicyDecision {
    return this.#current.check(action, opts);
  }
}
