/** Most entries a memo holds. */
export const MEMO_ENTRIES = 4096;
/** Misses a full memo lets pass (remembering nothing) before it starts over. */
export const MEMO_REFRESH = MEMO_ENTRIES * 64;
/** Longest key a memo keeps (UTF-16 units): longer inputs are always judged afresh. */
export const MEMO_KEY_LENGTH = 256;

/**
 * A bounded memo of a pure lookup keyed by the raw input string: what a compiled matcher
 * worked out for an input (its canonical form, the deny and allow rules it hits) is a
 * function of the input alone, because the compiled policy never changes. Agents repeat
 * their inputs (the same tools, hosts and files, again and again), so a repeated input skips
 * canonicalizing and hashing and costs one Map lookup. Only that lookup is memoized, never a
 * decision that depends on more than the input (other parameters, rate-limit tokens, ports).
 *
 * Bounded: at most `MEMO_ENTRIES` keys of at most `MEMO_KEY_LENGTH` units (about 2 MB per memo
 * at worst). A full memo keeps what it has and remembers nothing new, so a flood of distinct
 * inputs costs each one a Map miss, not an insert (measured: clearing and refilling on every
 * overflow made a first-sight check 1.5 to 2x as slow as no memo at all; refilling every 8x
 * `MEMO_ENTRIES` misses still cost 70 ns a miss; every 64x, within noise of no memo). After
 * `MEMO_REFRESH` such misses it starts over, so a working set that moves is picked up again.
 * A new compiled policy has empty memos.
 */
export class Memo<V> {
  readonly #map = new Map<string, V>();
  #missedWhileFull = 0;

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > MEMO_KEY_LENGTH) return;
    const map = this.#map;
    if (map.size >= MEMO_ENTRIES) {
      if (++this.#missedWhileFull < MEMO_REFRESH) return;
      this.#missedWhileFull = 0;
      map.clear();
    }
    map.set(key, value);
  }

  get size(): number {
    return this.#map.size;
  }
}

/**
 * Values made once per object key (a rule, a decision) and shared: memo entries for many
 * inputs that come to the same thing hold one object between them. Bounded by the policy's
 * rule count; like `Memo`, out of reach of the compiled policy's freeze.
 */
export class Interned<K extends object, V> {
  readonly #map = new Map<K, V>();

  get(key: K, make: () => V): V {
    let v = this.#map.get(key);
    if (v === undefined) this.#map.set(key, (v = make()));
    return v;
  }
}
