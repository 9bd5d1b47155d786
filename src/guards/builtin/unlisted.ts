/**
 * rug_pull's answer to a tools/call for a tool it holds no pin of: the tool never appeared in a
 * listing it judged, so an upstream could hide it from tools/list and still serve it to a call an
 * injected prompt asks for. Fail closed: the guard fetches the upstream's tools/list itself (the
 * host's `GuardContext.listTools`: the gateway sends it through the session's own link to that
 * upstream, pages followed to a bound), at most one fetch in flight per upstream, and pins what it
 * lists, as a listing would; a tool still not listed is refused, `tool_unlisted`.
 */
import { guardDeny } from "../decision.js";
import type { GuardContext, GuardDecision, GuardTool } from "../types.js";

export class UnlistedTools {
  readonly #inflight = new Map<string, Promise<void>>();
  /** Per upstream, why its last fetch failed (cleared by one that succeeds). */
  readonly #why = new Map<string, string>();

  /**
   * Fetch the upstream's listing and hand it to `pin` (which must not reject); never rejects.
   * A fetch already in flight for this upstream is shared.
   */
  fetch(
    ctx: GuardContext,
    pin: (tools: readonly GuardTool[]) => Promise<void> | void,
  ): Promise<void> {
    const server = ctx.serverName;
    const list = ctx.listTools;
    if (list === undefined) {
      this.#why.set(server, "this host cannot list the upstream's tools for the guard");
      return Promise.resolve();
    }
    const running = this.#inflight.get(server);
    if (running !== undefined) return running;
    const p = list()
      .then(
        async (tools) => {
          this.#why.delete(server);
          await pin(tools);
        },
        (e: unknown) => {
          this.#why.set(server, e instanceof Error ? e.message : String(e));
        },
      )
      .finally(() => this.#inflight.delete(server));
    this.#inflight.set(server, p);
    return p;
  }

  /** The refusal of a call to `tool`, which the upstream's listing does not hold. */
  refuse(server: string, tool: string): GuardDecision {
    const why = this.#why.get(server);
    const head = `Tool "${tool}" of server "${server}" has no rug_pull pin`;
    return guardDeny(
      "tool_unlisted",
      why === undefined
        ? `${head}, and upstream "${server}" does not list it in its tools/list (fetched to pin it): a tool the upstream does not list is refused (fail closed). If the upstream should serve it, make it list the tool.`
        : `${head}, and upstream "${server}"'s tools/list could not be fetched to pin it (${why}): the call is refused (fail closed); it is tried again on the next call.`,
      { server, tool },
    );
  }
}
