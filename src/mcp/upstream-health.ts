/**
 * What the gateway knows of each upstream's health, for its views (views.ts), /readyz and
 * /metrics: the links that reach it now (the shared connection, or one per open session), and
 * counts that outlive them (restarts since the gateway started). Links report to it through
 * their `monitor`; everything else is read from them when asked.
 */
import type { UpstreamConfig } from "./config-types.js";
import type { SharedUpstream } from "./shared-upstream.js";
import { commandProblem } from "./upstream-check.js";
import type { LinkMonitor, UpstreamLink } from "./upstream-link.js";

/**
 * An upstream's state: `up` (connected), `starting`, `down` (restarting after a failure), `failed`
 * (gave up, or cannot be started: needs a fix and a reload), `idle` (not started: a per-session
 * upstream with no session open).
 */
export type UpstreamState = "up" | "starting" | "down" | "failed" | "idle";

/** One upstream's health, as the views hand it out (a frozen copy). */
export interface UpstreamHealth {
  readonly name: string;
  readonly transport: "stdio" | "http" | "component";
  /** `shared`: one connection for every session; `per_session`: one per client session. */
  readonly sessions: "shared" | "per_session";
  /** Shared: its connection's; per session: the worst of the open sessions' (idle with none). */
  readonly state: UpstreamState;
  /** Processes running it now (a command upstream): one when shared, one per session otherwise. */
  readonly pids: readonly number[];
  /** Restarts after a failure since the gateway started (all its sessions' links, when per session). */
  readonly restarts: number;
  /** Why it last went down or failed to start, and when (ISO time); null if it never did. */
  readonly lastError: { readonly message: string; readonly at: string } | null;
  /** Client sessions using it now. */
  readonly sessionsUsing: number;
}

/** Why an upstream keeps the gateway from being ready (/readyz). */
export interface NotReady {
  readonly upstream: string;
  readonly state: UpstreamState;
  readonly reason: string;
}

/** Worst first: the state of a per-session upstream is the worst of its links'. */
const RANK: Record<UpstreamState, number> = { failed: 0, down: 1, starting: 2, up: 3, idle: 4 };

function stateOf(l: UpstreamLink): UpstreamState {
  if (l.starting) return "starting";
  switch (l.state) {
    case "up":
      return "up";
    case "down":
      return "down";
    case "failed":
      return "failed";
    default:
      return "idle";
  }
}

interface Entry {
  restarts: number;
  lastError: UpstreamLink["lastError"];
  readonly links: Set<UpstreamLink>;
}

export class UpstreamHealthBook {
  readonly #entries = new Map<string, Entry>();

  #entry(name: string): Entry {
    let e = this.#entries.get(name);
    if (e === undefined) {
      e = { restarts: 0, lastError: undefined, links: new Set() };
      this.#entries.set(name, e);
    }
    return e;
  }

  /** Follow `link` (a shared connection, or a session's own link to a per-session upstream). */
  track(link: UpstreamLink): void {
    const e = this.#entry(link.name);
    e.links.add(link);
    const monitor: LinkMonitor = {
      restarted: () => {
        e.restarts++;
      },
      closed: (l) => {
        // a closed link's last error stays the upstream's, if it is the latest
        if (l.lastError !== undefined && (e.lastError?.at ?? "") <= l.lastError.at)
          e.lastError = l.lastError;
        e.links.delete(l);
      },
    };
    link.monitor = monitor;
  }

  /** Forget upstreams the config no longer has (a reload removed them). */
  retain(names: ReadonlySet<string>): void {
    for (const n of [...this.#entries.keys()]) if (!names.has(n)) this.#entries.delete(n);
  }

  /** Each configured upstream's health now, in config order. */
  read(
    upstreams: readonly UpstreamConfig[],
    shared: ReadonlyMap<string, SharedUpstream>,
  ): UpstreamHealth[] {
    return upstreams.map((u) => {
      const e = this.#entries.get(u.name);
      const links = [...(e?.links ?? [])];
      const isShared = u.sessions === "shared";
      const sh = isShared ? shared.get(u.name) : undefined;
      let state: UpstreamState = "idle";
      for (const l of links) {
        const s = stateOf(l);
        if (RANK[s] < RANK[state]) state = s;
      }
      let lastError = e?.lastError;
      for (const l of links)
        if (l.lastError !== undefined && (lastError?.at ?? "") <= l.lastError.at)
          lastError = l.lastError;
      const pids = links.map((l) => l.pid()).filter((p): p is number => p !== null);
      return Object.freeze({
        name: u.name,
        transport: u.kind,
        sessions: isShared ? "shared" : "per_session",
        state,
        pids: Object.freeze(pids),
        restarts: e?.restarts ?? 0,
        lastError: lastError === undefined ? null : Object.freeze({ ...lastError }),
        sessionsUsing: isShared ? (sh?.sessions ?? 0) : links.length,
      } satisfies UpstreamHealth);
    });
  }

  /**
   * What keeps the gateway from being ready: a shared upstream that is not up, a per-session
   * command upstream whose command cannot be started now. Reasons name states, never an
   * upstream's error text (it may hold paths or an environment).
   */
  notReady(health: readonly UpstreamHealth[], upstreams: readonly UpstreamConfig[]): NotReady[] {
    const out: NotReady[] = [];
    for (const [i, h] of health.entries()) {
      const u = upstreams[i]!;
      if (h.sessions === "shared") {
        if (h.state !== "up")
          out.push({ upstream: h.name, state: h.state, reason: SHARED[h.state] });
        continue;
      }
      if (u.kind !== "stdio") continue;
      const p = commandProblem(u);
      if (p !== undefined)
        out.push({
          upstream: h.name,
          state: h.state,
          reason: p.startsWith("its cwd")
            ? "its cwd is not a directory that exists (warden gateway --check says more)"
            : "its command cannot be started: not found or not executable (warden gateway --check says more)",
        });
    }
    return out;
  }
}

const SHARED: Record<UpstreamState, string> = {
  up: "up",
  starting: "the shared upstream is starting",
  down: "the shared upstream is down and being restarted",
  failed: "the shared upstream failed and is not restarted: fix its entry and reload",
  idle: "the shared upstream is not started",
};
