/**
 * The MCP lifecycle of one session: initialize (judged for the session, then once per upstream;
 * a refused upstream is left out), the merged initialize answer, a second initialize refused,
 * an upstream initialized again after a restart, upstreams swapped by a config reload, and the
 * list_changed notifications that tell the client to list again.
 */

import type { Decision } from "../core/decision.js";
import { isAllowed } from "../core/decision.js";
import type { RestartConfig, UpstreamConfig } from "./config-types.js";
import {
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  type Request,
} from "./jsonrpc.js";
import { type InitResult, mergeInitialize } from "./merge.js";
import { type Answer, CANCELLED, type SessionParts } from "./session-core.js";
import type { Judged } from "./session-judges.js";
import type { Lifecycle } from "./session-refusals.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

export class Connection {
  /**
   * `new` until initialize arrives, `ready` once it is answered; `refused` when the connection
   * was denied or no upstream started. Only ready sessions serve requests.
   */
  lifecycle: Lifecycle = "new";
  /** The client sent notifications/initialized. */
  clientInitialized = false;
  /** The client's initialize params, sent to every upstream (again after a restart). */
  #initParams: Obj | undefined;

  constructor(readonly s: SessionParts) {}

  async initialize(req: Request, p: Obj): Promise<void> {
    const { ctx, down, who, links, audit } = this.s;
    const t0 = performance.now();
    if (this.lifecycle !== "new") return this.#initializeAgain(req);
    this.lifecycle = "refused";
    const info = (p.clientInfo ?? {}) as Obj;
    who.client = `${String(info.name ?? "unknown")}${info.version ? `@${String(info.version)}` : ""}`;
    if (ctx.callerIncludesClientName)
      who.caller = `${down.caller}/${String(info.name ?? "unknown")}`;
    const j = this.s.judges.judge("connection", "initialize", null, p, "initialize");
    const call = j.call;
    call.meta!.eachUpstream = true;
    let d = this.s.judges.decide(j);
    if (d instanceof Promise) d = await d;
    const what = `a ${down.transport} connection`;
    if (!isAllowed(d)) return audit.deny(req, call, d, what, t0);
    let refused: Decision | undefined;
    for (const link of [...links.values()]) {
      let r = this.refuse(link);
      if (r instanceof Promise) r = await r;
      refused ??= r;
    }
    if (refused !== undefined && links.size === 0) return audit.deny(req, call, refused, what, t0);
    this.#initParams = p;
    this.lifecycle = "initializing";
    audit.forwarded(call, "initialize", undefined, t0);
    const results: InitResult[] = [];
    let firstError: Answer | undefined;
    await Promise.all(
      [...links.values()].map(async (link) => {
        try {
          const r = await this.#initLink(link, req.id);
          if ("result" in r) results.push({ upstream: link.name, result: r.result });
          else firstError ??= r;
        } catch (e) {
          link.retryLater(e as Error);
        }
      }),
    );
    const order = [...links.names()];
    results.sort((a, b) => order.indexOf(a.upstream) - order.indexOf(b.upstream));
    if (results.length === 0) {
      this.lifecycle = "refused";
      const e: Answer =
        firstError ??
        errorResponse(
          req.id,
          INTERNAL_ERROR,
          "No upstream MCP server could be started; see the gateway's log (stderr) for each one's error.",
        );
      audit.outcome(call, "initialize", undefined, t0, e, { failed: firstError === undefined });
      return down.send({ ...e, id: req.id }, req.id);
    }
    this.lifecycle = "ready";
    audit.outcome(call, "initialize", undefined, t0, { jsonrpc: "2.0", id: req.id, result: {} });
    down.send(
      { jsonrpc: "2.0", id: req.id, result: mergeInitialize(results, ctx.version) },
      req.id,
    );
  }

  /**
   * A second initialize on one session: refused, so that a client cannot change what the session
   * was judged as (its clientInfo, capabilities) once it is connected; audited as a denial.
   */
  #initializeAgain(req: Request): void {
    const info = ((req.params ?? {}) as Obj).clientInfo as Obj | undefined;
    const reason = "initialize may be sent once per session";
    this.s.audit.write({
      phase: "decision",
      upstream: null,
      method: "initialize",
      ...(typeof info?.name === "string" ? { name: info.name } : {}),
      decision: "deny",
      reason,
      code: "already_initialized",
      duration_ms: 0,
    });
    this.s.ctx.log(`session ${this.s.who.id}: a second initialize was refused (${reason})`);
    this.s.down.send(
      errorResponse(
        req.id,
        INVALID_REQUEST,
        `Invalid Request: this session is already initialized (${reason}). To connect again, start a new session: a new gateway process over stdio, a POST without Mcp-Session-Id over HTTP.`,
        { warden: "already_initialized" },
      ),
      req.id,
    );
  }

  /**
   * Judge the connection to one upstream; a refused one is dropped from this session before it
   * starts (its tools, prompts and resources are absent) and the audit says so. Returns the
   * refusal, if it was refused.
   */
  refuse(link: UpstreamLink): Decision | undefined | Promise<Decision | undefined> {
    const j = this.#judgeUpstream(link);
    const d = this.s.judges.decide(j);
    if (d instanceof Promise) return d.then((d) => this.#refused(link, j, d));
    return this.#refused(link, j, d);
  }

  #refused(link: UpstreamLink, j: Judged, d: Decision): Decision | undefined {
    if (isAllowed(d)) return undefined;
    this.s.links.drop(link);
    this.s.audit.write({
      call_id: j.call.meta!.call_id,
      phase: "decision",
      upstream: link.name,
      method: "initialize",
      decision: "deny",
      rule: d.rule,
      reason: `upstream "${link.name}" not connected for this session: ${d.reason}`,
      duration_ms: 0,
    });
    this.s.ctx.log(`warden gateway: upstream "${link.name}" not connected: ${d.reason}`);
    return d;
  }

  /** The connection call of one upstream: judged on its transport (and URL's host). */
  #judgeUpstream(link: UpstreamLink): Judged {
    const c = link.cfg;
    const info =
      c.kind === "http"
        ? { name: c.name, transport: "http", url: c.url }
        : { name: c.name, transport: "stdio", command: c.command, args: c.args };
    return this.s.judges.judge("connection", "initialize", link.name, info, "initialize");
  }

  async #initLink(link: UpstreamLink, clientId?: Id): Promise<Answer> {
    if (link.state !== "up") await link.start();
    const a = await this.s.calls.call(link, "initialize", this.#initParams, clientId, true);
    if (a === CANCELLED) throw new Error("initialize was cancelled");
    if ("result" in a) {
      this.s.links.caps.set(link.name, (a.result.capabilities as Obj) ?? {});
      if (typeof a.result.protocolVersion === "string")
        link.setProtocolVersion(a.result.protocolVersion);
    }
    return a;
  }

  /** A restarted upstream: initialize it again and tell the client its lists may have changed. */
  async restarted(link: UpstreamLink): Promise<void> {
    if (this.#initParams === undefined) return;
    const a = await this.#initLink(link);
    if ("error" in a) throw new Error(`initialize failed after restart: ${a.error.message}`);
    if (this.clientInitialized) {
      await link.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      const caps = (a.result.capabilities ?? {}) as Obj;
      for (const k of ["tools", "prompts", "resources"])
        if (caps[k])
          this.s.down.send({ jsonrpc: "2.0", method: `notifications/${k}/list_changed` });
    }
  }

  /**
   * A config reload changed the upstreams: start the new ones, drop the old, tell the client.
   * A call to a new link that arrives before it is started and initialized waits for it (in
   * order, within the upstream's request_timeout_ms; src/mcp/session-calls.ts) rather than
   * failing as unavailable.
   */
  async applyUpstreams(cfgs: readonly UpstreamConfig[], restart: RestartConfig): Promise<void> {
    const added = this.s.links.swap(cfgs, restart);
    if (this.#initParams !== undefined) {
      for (const link of added) link.hold();
      await Promise.all(
        added.map(async (link) => {
          try {
            if ((await this.refuse(link)) !== undefined) return;
            const a = await this.#initLink(link);
            if ("error" in a) throw new Error(`initialize failed: ${a.error.message}`);
            if (this.clientInitialized)
              await link.send({ jsonrpc: "2.0", method: "notifications/initialized" });
          } catch (e) {
            link.retryLater(e as Error);
          } finally {
            link.release();
          }
        }),
      );
    }
    this.listsChanged();
  }

  /** After a policy reload: visibility may have changed, ask the client to list again. */
  listsChanged(): void {
    if (!this.clientInitialized) return;
    for (const k of ["tools", "prompts", "resources"])
      this.s.down.send({ jsonrpc: "2.0", method: `notifications/${k}/list_changed` });
  }
}
