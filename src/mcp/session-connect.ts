/**
 * The judged session's base: building judged calls and denials, and the connection checks
 * (initialize, per-upstream connection judgement, restarts, config reloads). The routing of
 * client requests is in session.ts, the plumbing (ids, cancel, progress) in session-core.ts.
 */
import type { Call } from "../core/call.js";
import type { Chain } from "../core/chain.js";
import { type Decision, isAllowed } from "../core/decision.js";
import { type AuditOutcome, auditError, newCallId } from "./audit.js";
import type { McpCode } from "./codes.js";
import type { RestartConfig, UpstreamConfig } from "./config-types.js";
import { denialError } from "./denial.js";
import {
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  type Request,
  UPSTREAM_UNAVAILABLE,
} from "./jsonrpc.js";
import type { GatewayCallMeta, GatewayPhase } from "./judges.js";
import { type InitResult, mergeInitialize } from "./merge.js";
import { type Answer, CANCELLED, SessionCore } from "./session-core.js";
import type { Lifecycle } from "./session-refusals.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

/** Which policy section allows what, for denial hints. */
export const SECTION: Record<string, [McpCode, string]> = {
  "tools/call": ["tool_denied", "mcp.tools.allow"],
  "prompts/get": ["prompt_denied", "mcp.prompts.allow"],
  "resources/read": ["resource_denied", "mcp.resources.allow"],
  "resources/subscribe": ["resource_denied", "mcp.resources.allow"],
  "completion/complete": ["completion_denied", "mcp.prompts.allow / mcp.resources.allow"],
  initialize: ["connection_denied", "mcp.transport"],
  "tasks/get": ["tool_denied", "mcp.tools.allow"],
  "tasks/result": ["tool_denied", "mcp.tools.allow"],
  "tasks/cancel": ["tool_denied", "mcp.tools.allow"],
};

export class JudgedSession extends SessionCore {
  /**
   * The MCP lifecycle: `new` until initialize arrives, `ready` once it is answered; `refused`
   * when the connection was denied or no upstream started. Only ready sessions serve requests.
   */
  lifecycle: Lifecycle = "new";

  constructor(...args: ConstructorParameters<typeof SessionCore>) {
    super(...args);
    for (const link of this.links.values()) link.onrestart = () => this.restarted(link);
  }

  /** Build a judged Call; meta says which session, upstream and phase. */
  judge(
    phase: GatewayPhase,
    fn: string,
    target: string | null,
    args: unknown,
    method: string,
  ): { call: Call<GatewayCallMeta>; chain: Chain<GatewayCallMeta> } {
    const meta: GatewayCallMeta = {
      phase,
      call_id: newCallId(),
      session: this.id,
      client: this.client,
      caller: this.caller,
      upstream: target,
      method,
      transport: this.down.transport,
    };
    if (this.down.host !== undefined) meta.host = this.down.host;
    const call: Call<GatewayCallMeta> = {
      source: this.client,
      target: target ?? "gateway",
      function: fn,
      args,
      phase: "before",
      meta,
    };
    return { call, chain: this.ctx.judges()[phase] };
  }

  deny(
    req: Request,
    call: Call<GatewayCallMeta>,
    d: ReturnType<Chain["before"]>,
    what: string,
    t0: number,
  ): void {
    const [code, section] = SECTION[req.method] ?? ["guard_denied", "mcp"];
    const meta = call.meta!;
    this.audit({
      call_id: meta.call_id,
      phase: "decision",
      upstream: meta.upstream,
      method: req.method,
      name: meta.target ?? call.function,
      decision: "deny",
      rule: d.rule,
      reason: d.reason,
      duration_ms: performance.now() - t0,
      ...this.ctx.audit()?.args(call.args),
    });
    this.replyError(
      denialError(req.id, d, { code, what, section, policyFile: this.ctx.policyFile() }),
    );
  }

  /** The decision line of a call that is forwarded now: its outcome line follows (`outcome`). */
  forwarded(
    call: Call<GatewayCallMeta>,
    method: string,
    name: string | undefined,
    t0: number,
  ): void {
    const meta = call.meta!;
    const rec: Parameters<SessionCore["audit"]>[0] = {
      call_id: meta.call_id,
      phase: "decision",
      upstream: meta.upstream,
      method,
      decision: "allow",
      rule: meta.policy?.rule,
      duration_ms: performance.now() - t0,
      ...this.ctx.audit()?.args(call.args),
    };
    if (name !== undefined) rec.name = name;
    this.audit(rec, true);
  }

  /**
   * The outcome line of a forwarded call: how its answer ended (docs/audit.md, "Outcomes").
   * `refused`: the response judges refused the answer; `failed`: the gateway could not make the
   * answer (its error is `a`).
   */
  outcome(
    call: Call<GatewayCallMeta>,
    method: string,
    name: string | undefined,
    t0: number,
    a: Answer | typeof CANCELLED,
    how?: { refused?: Decision; failed?: boolean },
  ): void {
    const meta = call.meta!;
    const rec: Parameters<SessionCore["audit"]>[0] = {
      call_id: meta.call_id,
      phase: "outcome",
      upstream: meta.upstream,
      method,
      decision: how?.refused ? "deny" : "allow",
      outcome: "answered",
      rule: how?.refused?.rule ?? meta.policy?.rule,
      duration_ms: performance.now() - t0,
    };
    if (name !== undefined) rec.name = name;
    let outcome: AuditOutcome = "answered";
    if (a === CANCELLED) outcome = this.closed ? "cut_off" : "cancelled";
    else if (how?.refused) {
      outcome = "denied";
      rec.reason = how.refused.reason;
    } else if ("error" in a) {
      const gone =
        a.error.code === UPSTREAM_UNAVAILABLE &&
        (a.error.data as Obj | undefined)?.warden === "upstream_unavailable";
      outcome = how?.failed || gone ? "failed" : "error";
      rec.error = auditError(a.error);
    } else if (a.result.isError === true) outcome = "error";
    rec.outcome = outcome;
    this.audit(rec);
    // The chain's after hooks see how the call ended (the metrics' statistics strategy counts
    // it per tool): the result when answered, else the error (or the outcome) on call.error.
    const chain = this.ctx.judges()[meta.phase];
    if (chain.hasAfter) {
      if (outcome === "answered" && a !== CANCELLED && "result" in a) call.result = a.result;
      else call.error = a !== CANCELLED && "error" in a ? a.error : outcome;
      chain.after(call);
    }
  }

  async initialize(req: Request, p: Obj): Promise<void> {
    const t0 = performance.now();
    if (this.lifecycle !== "new") return this.#initializeAgain(req);
    this.lifecycle = "refused";
    const info = (p.clientInfo ?? {}) as Obj;
    this.client = `${String(info.name ?? "unknown")}${info.version ? `@${String(info.version)}` : ""}`;
    if (this.ctx.callerIncludesClientName)
      this.caller = `${this.down.caller}/${String(info.name ?? "unknown")}`;
    const { call, chain } = this.judge("connection", "initialize", null, p, "initialize");
    call.meta!.eachUpstream = true;
    const d = chain.before(call);
    if (!isAllowed(d)) return this.deny(req, call, d, `a ${this.down.transport} connection`, t0);
    let refused: { call: Call; d: ReturnType<Chain["before"]> } | undefined;
    for (const link of [...this.links.values()]) refused ??= this.refuse(link);
    if (refused !== undefined && this.links.size === 0)
      return this.deny(req, call, refused.d, `a ${this.down.transport} connection`, t0);
    this.initParams = p;
    this.lifecycle = "initializing";
    this.forwarded(call, "initialize", undefined, t0);
    const results: InitResult[] = [];
    let firstError: Answer | undefined;
    await Promise.all(
      [...this.links.values()].map(async (link) => {
        try {
          const r = await this.initLink(link, req.id);
          if ("result" in r) results.push({ upstream: link.name, result: r.result });
          else firstError ??= r;
        } catch (e) {
          link.retryLater(e as Error);
        }
      }),
    );
    link_order(results, [...this.links.keys()]);
    if (results.length === 0) {
      this.lifecycle = "refused";
      const e: Answer =
        firstError ??
        errorResponse(
          req.id,
          INTERNAL_ERROR,
          "No upstream MCP server could be started; see the gateway's log (stderr) for each one's error.",
        );
      this.outcome(call, "initialize", undefined, t0, e, { failed: firstError === undefined });
      return this.down.send({ ...e, id: req.id }, req.id);
    }
    this.lifecycle = "ready";
    this.outcome(call, "initialize", undefined, t0, { jsonrpc: "2.0", id: req.id, result: {} });
    this.reply(req.id, mergeInitialize(results, this.ctx.version));
  }

  /**
   * A second initialize on one session: refused, so that a client cannot change what the session
   * was judged as (its clientInfo, capabilities) once it is connected; audited as a denial.
   */
  #initializeAgain(req: Request): void {
    const info = ((req.params ?? {}) as Obj).clientInfo as Obj | undefined;
    const reason = "initialize may be sent once per session";
    this.audit({
      phase: "decision",
      upstream: null,
      method: "initialize",
      ...(typeof info?.name === "string" ? { name: info.name } : {}),
      decision: "deny",
      reason,
      code: "already_initialized",
      duration_ms: 0,
    });
    this.ctx.log(`session ${this.id}: a second initialize was refused (${reason})`);
    this.replyError(
      errorResponse(
        req.id,
        INVALID_REQUEST,
        `Invalid Request: this session is already initialized (${reason}). To connect again, start a new session: a new gateway process over stdio, a POST without Mcp-Session-Id over HTTP.`,
        { warden: "already_initialized" },
      ),
    );
  }

  /**
   * Judge the connection to one upstream; a refused one is dropped from this session before it
   * starts (its tools, prompts and resources are absent) and the audit says so.
   */
  refuse(link: UpstreamLink): { call: Call; d: ReturnType<Chain["before"]> } | undefined {
    const c = link.cfg;
    const info =
      c.kind === "http"
        ? { name: c.name, transport: "http", url: c.url }
        : { name: c.name, transport: "stdio", command: c.command, args: c.args };
    const { call, chain } = this.judge("connection", "initialize", link.name, info, "initialize");
    const d = chain.before(call);
    if (isAllowed(d)) return undefined;
    this.links.delete(link.name);
    this.caps.delete(link.name);
    link.close().catch(() => {});
    this.audit({
      call_id: call.meta!.call_id,
      phase: "decision",
      upstream: link.name,
      method: "initialize",
      decision: "deny",
      rule: d.rule,
      reason: `upstream "${link.name}" not connected for this session: ${d.reason}`,
      duration_ms: 0,
    });
    this.ctx.log(`warden gateway: upstream "${link.name}" not connected: ${d.reason}`);
    return { call, d };
  }

  async initLink(link: UpstreamLink, clientId?: Id): Promise<Answer> {
    if (link.state !== "up") await link.start();
    const a = await this.call(link, "initialize", this.initParams, clientId);
    if (a === CANCELLED) throw new Error("initialize was cancelled");
    if ("result" in a) {
      this.caps.set(link.name, (a.result.capabilities as Obj) ?? {});
      if (typeof a.result.protocolVersion === "string")
        link.setProtocolVersion(a.result.protocolVersion);
    }
    return a;
  }

  /** A restarted upstream: initialize it again and tell the client its lists may have changed. */
  async restarted(link: UpstreamLink): Promise<void> {
    if (this.initParams === undefined) return;
    const a = await this.initLink(link);
    if ("error" in a) throw new Error(`initialize failed after restart: ${a.error.message}`);
    if (this.clientInitialized) {
      await link.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      const caps = (a.result.capabilities ?? {}) as Obj;
      for (const k of ["tools", "prompts", "resources"])
        if (caps[k]) this.down.send({ jsonrpc: "2.0", method: `notifications/${k}/list_changed` });
    }
  }

  /** A config reload changed the upstreams: start the new ones, drop the old, tell the client. */
  async applyUpstreams(cfgs: readonly UpstreamConfig[], restart: RestartConfig): Promise<void> {
    const added = this.swapUpstreams(cfgs, restart);
    for (const link of added) link.onrestart = () => this.restarted(link);
    if (this.initParams !== undefined)
      await Promise.all(
        added.map(async (link) => {
          if (this.refuse(link) !== undefined) return;
          try {
            const a = await this.initLink(link);
            if ("error" in a) throw new Error(`initialize failed: ${a.error.message}`);
            if (this.clientInitialized)
              await link.send({ jsonrpc: "2.0", method: "notifications/initialized" });
          } catch (e) {
            link.retryLater(e as Error);
          }
        }),
      );
    this.listsChanged();
  }

  /** After a policy reload: visibility may have changed, ask the client to list again. */
  listsChanged(): void {
    if (!this.clientInitialized) return;
    for (const k of ["tools", "prompts", "resources"])
      this.down.send({ jsonrpc: "2.0", method: `notifications/${k}/list_changed` });
  }
}

function link_order(results: InitResult[], order: string[]): void {
  results.sort((a, b) => order.indexOf(a.upstream) - order.indexOf(b.upstream));
}
