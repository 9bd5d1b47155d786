/**
 * What the tools_list guards made of each tool, so a tools/call is held to the same answer as
 * the listing: a tool the guards hid (or whose listing they refused) is refused when a client
 * calls it by name. The tools each upstream listed are kept in a ToolCatalog that outlives a
 * guards reload: new guards judge the tools a session already holds the first time one of them
 * is called, without waiting for the client to list again.
 */
import type { GuardRun, GuardSet } from "./set.js";
import type { GuardContext, GuardTool } from "./types.js";

/** The most tools kept per server. */
const MAX_TOOLS = 10_000;

/** Why a tool is hidden: the guard and its message. */
export interface HiddenTool {
  readonly by: string;
  readonly reason: string;
}

/**
 * The tools each upstream last listed, under the upstream's own names, as the guards received
 * them (after the policy, before any guard). Pages of a paged listing add up. Shared by every
 * session of a gateway, and handed from one guards configuration to the next on reload.
 */
export class ToolCatalog {
  readonly #byServer = new Map<string, { version: number; tools: Map<string, GuardTool> }>();

  record(server: string, tools: readonly GuardTool[]): void {
    let e = this.#byServer.get(server);
    if (e === undefined) this.#byServer.set(server, (e = { version: 0, tools: new Map() }));
    e.version++;
    // Pages add up; a server that keeps listing new names starts over (bounded memory).
    if (e.tools.size + tools.length > MAX_TOOLS) e.tools.clear();
    for (const t of tools) e.tools.set(t.name, t);
  }

  /** Bumped on every listing recorded: verdicts from an older one are recomputed. */
  versionOf(server: string): number {
    return this.#byServer.get(server)?.version ?? 0;
  }

  has(server: string, name: string): boolean {
    return this.#byServer.get(server)?.tools.has(name) === true;
  }

  tools(server: string): GuardTool[] {
    return [...(this.#byServer.get(server)?.tools.values() ?? [])];
  }

  /** Every server's tool names (the `peerTools` of a guard context). */
  names(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [s, e] of this.#byServer) out[s] = [...e.tools.keys()];
    return out;
  }
}

/** The verdicts of one guards configuration: per server, per tool, hidden or not (null). */
export class ToolVerdicts {
  readonly #byServer = new Map<string, { at: number; tools: Map<string, HiddenTool | null> }>();

  constructor(
    readonly guards: GuardSet,
    readonly catalog: ToolCatalog,
  ) {}

  /** Record what the guards made of one server's part of a listing. */
  record(server: string, tools: readonly GuardTool[], r: GuardRun<"tools_list">): void {
    let entry = this.#byServer.get(server);
    if (entry === undefined) this.#byServer.set(server, (entry = { at: 0, tools: new Map() }));
    entry.at = this.catalog.versionOf(server);
    if (entry.tools.size + tools.length > MAX_TOOLS) entry.tools.clear();
    const d = r.decision;
    if (d.kind === "deny") {
      const h = { by: r.by ?? "guards", reason: d.message };
      for (const t of tools) entry.tools.set(t.name, h);
      return;
    }
    if (d.kind !== "modify") {
      for (const t of tools) entry.tools.set(t.name, null);
      return;
    }
    const kept = new Set((r.payload as GuardTool[]).map((t) => t.name));
    const first = r.trail.find((t) => t.outcome === "modify")?.guard ?? "guards";
    for (const t of tools) {
      if (kept.has(t.name)) {
        entry.tools.set(t.name, null);
        continue;
      }
      const quoted = `"${t.name}"`;
      const reason =
        r.warnings.find((w) => w.includes(quoted)) ?? (r.warnings.join("; ") || "hidden");
      entry.tools.set(t.name, { by: r.hiddenBy?.get(t.name) ?? first, reason });
    }
  }

  /**
   * Whether a tool called by name is hidden by these guards. A tool the catalog holds but these
   * guards have not judged (they were loaded after its listing, or the server listed again)
   * makes them judge that server's whole listing once, as a tools/list would.
   */
  hidden(
    server: string,
    name: string,
    ctx: () => GuardContext,
    noted: (r: GuardRun<"tools_list">) => void,
  ): HiddenTool | null {
    const entry = this.#byServer.get(server);
    const v = entry?.tools.get(name);
    if (v !== undefined && entry!.at === this.catalog.versionOf(server)) return v;
    if (!this.catalog.has(server, name)) return v ?? null;
    const tools = this.catalog.tools(server);
    const c = ctx();
    c.peerTools = this.catalog.names();
    const r = this.guards.run("tools_list", tools, c);
    noted(r);
    this.record(server, tools, r);
    return this.#byServer.get(server)?.tools.get(name) ?? null;
  }
}
