/**
 * The admin page's routes, registered into the admin listener (createAdminServer's extraRoutes,
 * inside its access hook): the page itself at `/` (index.html, page.js, page.css: public, they
 * hold no data), and what the page reads of a running gateway: rug_pull's pins and their
 * approval, upstream health, the recent and the live decisions. Everything under /v1/gateway
 * needs the admin token (the access hook); without a gateway in the process it answers 501,
 * but for the pins under state.redis: they are Redis's (src/admin/pins.ts), served by `warden
 * admin` alone too, and never the pins files then (Redis down: 503 state_unavailable).
 * Every approval is logged (`admin.pins.approve`: caller, upstream, tool, hash, store, result)
 * and audited (an event line, kind pin_approval, in the process's audit log when it has one).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { type AuditRecord, newCallId } from "../../audit/record.js";
import { WardenError } from "../../core/errors.js";
import type { RegistryLog } from "../../rules/registry/index.js";
import { ANONYMOUS, callerOf } from "../access.js";
import type { AdminPins } from "../pins.js";
import { sendError } from "../reply.js";
import type { AdminDecisionFilter, AdminGatewayViews } from "../views.js";
import { loadPageAssets } from "./assets.js";
import { PAGE_HEADERS } from "./headers.js";
import { DecisionStreams, MAX_STREAMS, MAX_STREAMS_PER_CALLER } from "./stream.js";

/** What the page's routes read (the AdminContext gives both). */
export interface PageRouteContext {
  /** The gateway's views (Gateway.views()); absent when no gateway runs in this process. */
  readonly views: AdminGatewayViews | undefined;
  /** state.redis: the pins in Redis, listed and approved instead of the views' pins files. */
  readonly pins?: AdminPins | undefined;
  /** Where approvals are logged (`admin.pins.approve`). */
  readonly log?: RegistryLog;
  /** Where approvals are audited (kind pin_approval). */
  readonly audit?: ((rec: AuditRecord) => void) | undefined;
}

type Query = {
  decision?: "allow" | "deny";
  tool?: string;
  caller?: string;
  phase?: string;
  limit?: string;
};

const FILTER_QUERY = {
  type: "object",
  properties: {
    decision: { type: "string", enum: ["allow", "deny"] },
    tool: { type: "string", minLength: 1, maxLength: 256 },
    caller: { type: "string", minLength: 1, maxLength: 256 },
    phase: { type: "string", enum: ["decision", "outcome", "event"] },
    limit: { type: "string", pattern: "^[0-9]{1,4}$" },
  },
  additionalProperties: false,
} as const;

const APPROVE_BODY = {
  type: "object",
  properties: {
    upstream: { type: "string", minLength: 1, maxLength: 256 },
    tool: { type: "string", minLength: 1, maxLength: 512 },
    hash: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" },
  },
  required: ["upstream", "tool", "hash"],
  additionalProperties: false,
} as const;

function filterOf(q: Query): AdminDecisionFilter {
  return {
    ...(q.decision === undefined ? {} : { decision: q.decision }),
    ...(q.tool === undefined ? {} : { tool: q.tool }),
    ...(q.caller === undefined ? {} : { caller: q.caller }),
    ...(q.phase === undefined ? {} : { phase: q.phase as AdminDecisionFilter["phase"] }),
    ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
  };
}

/**
 * Register the page on the admin listener: `extraRoutes: pageRoutes` (createAdminServer passes
 * the AdminContext, whose views the cli filled with Gateway.views()).
 */
export async function pageRoutes(
  app: FastifyInstance,
  ctx: PageRouteContext,
  assetsDir?: string,
): Promise<void> {
  const assets = loadPageAssets(assetsDir);
  const streams = new DecisionStreams();
  // before the server waits for its connections: an open stream would hold the close forever
  app.addHook("preClose", async () => streams.close());
  app.addHook("onSend", async (_req, reply, payload) => {
    reply.headers(PAGE_HEADERS);
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });

  for (const a of assets)
    app.get(a.path, { config: { public: true } }, async (req, reply) => {
      reply.header("cache-control", "no-cache").header("etag", a.etag).type(a.type);
      if (req.headers["if-none-match"] === a.etag) return reply.code(304).send();
      return reply.send(a.body);
    });

  const views = (reply: FastifyReply): AdminGatewayViews | undefined => {
    if (ctx.views !== undefined) return ctx.views;
    sendError(
      reply,
      "admin_unavailable",
      "no gateway runs in this process (warden admin runs the API alone): pins, upstreams and decisions are served by `warden gateway` with an admin section",
    );
    return undefined;
  };

  app.get("/v1/gateway/pins", async (_req, reply) => {
    if (ctx.pins !== undefined) return await ctx.pins.list();
    const v = views(reply);
    return v && (await v.pins());
  });

  app.post<{ Body: { upstream: string; tool: string; hash: string } }>(
    "/v1/gateway/pins/approve",
    { schema: { body: APPROVE_BODY } },
    async (req, reply) => {
      const pins = ctx.pins;
      const v = pins === undefined ? views(reply) : undefined;
      if (pins === undefined && v === undefined) return;
      const { upstream, tool, hash } = req.body;
      const caller = callerOf(req);
      const by = `${caller} (admin page)`;
      const store = pins === undefined ? "files" : pins.store;
      const started = performance.now();
      const note = (result: string, code?: string) => {
        ctx.audit?.({
          time: new Date().toISOString(),
          call_id: newCallId(),
          phase: "event",
          kind: "pin_approval",
          caller,
          session: null,
          upstream: upstream.slice(0, 256),
          method: "pins/approve",
          name: tool.slice(0, 512),
          decision: result === "approved" ? "allow" : "deny",
          reason: `${result === "approved" ? "approved" : "not approved"}: ${hash} (${store})`,
          ...(code === undefined ? {} : { code }),
          duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        });
        const line = {
          event: "admin.pins.approve",
          caller,
          upstream,
          tool,
          hash,
          store,
          result,
          ...(code === undefined ? {} : { code }),
        };
        if (result === "approved") ctx.log?.info(line, "admin.pins.approve");
        else ctx.log?.warn(line, "admin.pins.approve");
      };
      try {
        const approved =
          pins === undefined
            ? await v!.approvePin(upstream, tool, hash, by)
            : [await pins.approve(upstream, tool, hash, by)];
        note("approved");
        return { approved };
      } catch (e) {
        note("refused", e instanceof WardenError ? e.code : "internal");
        if (e instanceof WardenError && e.code === "pin_not_found")
          return sendError(reply, e.code, e.message, e.details, 404);
        throw e;
      }
    },
  );

  app.get("/v1/gateway/upstreams", async (_req, reply) => {
    const v = views(reply);
    return v && { upstreams: v.upstreams(), readiness: v.readiness() };
  });

  app.get<{ Querystring: Query }>(
    "/v1/gateway/decisions",
    { schema: { querystring: FILTER_QUERY } },
    async (req, reply) => {
      const v = views(reply);
      return v && { decisions: v.decisions(filterOf(req.query)) };
    },
  );

  app.get<{ Querystring: Query }>(
    "/v1/gateway/decisions/stream",
    { schema: { querystring: FILTER_QUERY } },
    async (req, reply) => {
      const v = views(reply);
      if (!v) return;
      // one caller: a token's name; without tokens every request is anonymous, so one address
      const named = callerOf(req);
      const caller =
        named === ANONYMOUS ? `${ANONYMOUS} (${req.socket.remoteAddress ?? "?"})` : named;
      const refused = streams.refusal(caller);
      if (refused !== undefined) {
        if (refused.status === 503) reply.header("retry-after", "5");
        return sendError(
          reply,
          "admin_streams_full",
          refused.message,
          {
            open: streams.size,
            ofCaller: streams.of(caller),
            max: MAX_STREAMS,
            maxPerCaller: MAX_STREAMS_PER_CALLER,
          },
          refused.status,
        );
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        ...PAGE_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
        // the connection is the stream's: closed with it, never left for reuse (a close of
        // the listener would otherwise wait for it)
        connection: "close",
      });
      reply.raw.write(": following the audit\n\n");
      streams.follow(reply.raw, v, filterOf(req.query), caller);
    },
  );
}
