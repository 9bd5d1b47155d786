/**
 * Where rug_pull keeps its pins when several gateway instances share them (`state.redis`): the
 * guards layer says what it needs, the state layer implements it (src/state/pins.ts) and the
 * mcp layer wires it in. Without `state.redis` the guard keeps its pins file (pins.ts).
 *
 * The guard judges synchronously from `cached` (no I/O on the per-call path); `decide` and
 * `read` are what its `prepare` awaits before it judges, only for what the cache cannot answer.
 */
import type { Pin } from "./pins.js";

/** A tool version as rug_pull saw it in a listing. */
export interface SeenTool {
  readonly name: string;
  readonly hash: string;
  readonly description: string;
  /**
   * The tool's hash as pins written before hash version 2 computed it (pins.ts toolHashV1): a
   * pin (or pending change) holding it is upgraded to `hash`, not taken as a change.
   */
  readonly oldHash: string;
}

export interface SharedPins {
  /**
   * The pin as last read from the shared store: a Pin, null when the store has none for the
   * tool, undefined when this process never read it. Kept while the store is down, and after a
   * change elsewhere until it is read again (see `stale`).
   */
  cached(server: string, tool: string): Pin | null | undefined;
  /**
   * True when `cached` may be out of date: never read, or another instance changed the server's
   * pins since (or this process may have missed that). Asked again before it is trusted.
   */
  stale(server: string, tool: string): boolean;
  /** Why the last `decide` or `read` of this tool failed; cleared by one that succeeds. */
  failure(server: string, tool: string): Error | undefined;
  /**
   * In one atomic step in the store, for each tool: pin it on first sight; upgrade a pin whose
   * hash is `oldHash` (pins.ts upgradePin); record a version that
   * differs from the pin as the pending change (keeping an approval made meanwhile); clear the
   * pending change of a tool back at its pinned version. Updates the cache. Never rejects: what
   * failed is told by `failure`.
   */
  decide(server: string, tools: readonly SeenTool[], at: string): Promise<void>;
  /** Read the pins of `tools` into the cache. Never rejects (see `failure`). */
  read(server: string, tools: readonly string[]): Promise<void>;
}

/** What a guard factory may be given besides its spec. */
export interface GuardEnv {
  /** state.redis: the pins shared by every instance (rug_pull uses them instead of its file). */
  readonly pins?: SharedPins;
}
