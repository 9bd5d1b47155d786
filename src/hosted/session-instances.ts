/**
 * The bound of `instance: per-session` components: one instance per MCP session, so a client
 * opening sessions in a loop would grow the process by one instance each (a componentize-js
 * instance costs tens to hundreds of MB). Per component, at most `max` live instances, and a
 * memory budget across them: the memory of each live instance as its worker last measured it
 * (every core memory's size after the session's latest call). A new session past either bound
 * is refused (`hosted_session_limit`, naming the component, the bound and the key to raise);
 * the sessions that already have an instance keep it. An instance is released when its session
 * ends, when a failure drops it, or when a reload replaces the component.
 *
 * An instance admitted just below the budget may take the total past it by its own size; each
 * instance is itself capped by the memory limit (docs/hosted-tools.md#limits).
 */
import { WardenError } from "../core/errors.js";

export interface SessionBounds {
  /** Live per-session instances of one component at most (default 16). */
  readonly max?: number;
  /** Their memory at most, in bytes (default 1 GiB). */
  readonly memoryBytes?: number;
}

export const SESSION_DEFAULTS = Object.freeze({ max: 16, memoryBytes: 1024 ** 3 });

/** Where the bounds are set (named in the refusal): the gateway's keys, or serve's flags. */
export interface BoundKeys {
  readonly max: string;
  readonly memory: string;
}

const GATEWAY_KEYS: BoundKeys = {
  max: "upstreams[].max_instances",
  memory: "upstreams[].instances_memory_mb",
};

export class SessionInstances {
  readonly max: number;
  readonly memoryBytes: number;
  /** component → session → the instance's memory in bytes (0 until its first call ends). */
  readonly #live = new Map<string, Map<string, number>>();

  constructor(
    bounds: SessionBounds = {},
    readonly keys: BoundKeys = GATEWAY_KEYS,
  ) {
    this.max = bounds.max ?? SESSION_DEFAULTS.max;
    this.memoryBytes = bounds.memoryBytes ?? SESSION_DEFAULTS.memoryBytes;
  }

  /**
   * A call of `session` to `component`: true when the session already holds an instance (or a
   * place for one), false when a place was taken for it now (release it if the call never
   * reached a worker). Throws `hosted_session_limit` past a bound.
   */
  admit(component: string, session: string): boolean {
    let live = this.#live.get(component);
    if (live?.has(session)) return true;
    const used = this.bytes(component);
    const n = live?.size ?? 0;
    if (n >= this.max || used >= this.memoryBytes) {
      const byCount = n >= this.max;
      const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;
      throw new WardenError(
        "hosted_session_limit",
        byCount
          ? `component "${component}" runs one instance per MCP session (instance: per-session) and has ${n} live, its limit (${this.keys.max}: ${this.max}); this session gets none. End another session, retry later, or raise ${this.keys.max}.`
          : `component "${component}" runs one instance per MCP session (instance: per-session) and its ${n} live instances hold ${mib(used)}, its memory budget (${this.keys.memory}: ${mib(this.memoryBytes)}); this session gets none. End another session, retry later, or raise ${this.keys.memory}.`,
        {
          category: "denied",
          details: {
            component,
            limit: byCount ? "max_instances" : "instances_memory",
            key: byCount ? this.keys.max : this.keys.memory,
            live: n,
            max: this.max,
            bytes: used,
            memory_bytes: this.memoryBytes,
          },
        },
      );
    }
    if (live === undefined) {
      live = new Map();
      this.#live.set(component, live);
    }
    live.set(session, 0);
    return false;
  }

  /** The session's instance measured after a call (bytes of its memories). */
  measured(component: string, session: string, bytes: number): void {
    const live = this.#live.get(component);
    if (live?.has(session)) live.set(session, bytes);
  }

  /** The session's instance is gone (a failure dropped it, or it was never made). */
  release(component: string, session: string): void {
    const live = this.#live.get(component);
    live?.delete(session);
    if (live?.size === 0) this.#live.delete(component);
  }

  /** The session ended: its instances of every component are released. */
  endSession(session: string): void {
    for (const c of [...this.#live.keys()]) this.release(c, session);
  }

  /** A reload replaced the components: every instance is gone. */
  clear(): void {
    this.#live.clear();
  }

  /** Live instances of `component`. */
  count(component: string): number {
    return this.#live.get(component)?.size ?? 0;
  }

  /** Their memory, as last measured. */
  bytes(component: string): number {
    let sum = 0;
    for (const b of this.#live.get(component)?.values() ?? []) sum += b;
    return sum;
  }
}
