/**
 * The decision API, in the manner of OPA's REST API: POST /v1/check judges one Warden action (as
 * `warden policy eval` takes it) by the policy, then by the rules when the policy allows, and
 * answers the decision with both explanations; GET /v1/policy says which policy is in force;
 * POST /v1/policy/explain explains one action; POST /v1/rules/playground traces the rules (the
 * rules in force, or rules given as YAML, calling the registry's plugins).
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { allowHint, type CompiledPolicy } from "../../policy/index.js";
import {
  fromAction,
  parseRules,
  type RuleSet,
  type RulesOutcome,
  toDecision,
} from "../../rules/index.js";
import { callerOf } from "../access.js";
import type { AdminContext } from "../context.js";
import { sendError } from "../reply.js";

const ACTION_BODY = {
  type: "object",
  properties: { action: { type: "object" }, explain: { type: "boolean" } },
  required: ["action"],
  additionalProperties: false,
} as const;

interface CheckBody {
  action: Record<string, unknown>;
  explain?: boolean;
}

function noPolicy(reply: FastifyReply): FastifyReply {
  return sendError(
    reply,
    "admin_unavailable",
    "no policy is loaded in this process; give warden.yaml a policy: file",
  );
}

/** The action with its caller: the one it names, else the token's name. */
function withCaller(action: Record<string, unknown>, caller: string): Record<string, unknown> {
  return typeof action.caller === "string" ? action : { ...action, caller };
}

export async function decisionRoutes(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const policyOf = (): CompiledPolicy | undefined => ctx.policy?.();

  app.post<{ Body: CheckBody }>(
    "/v1/check",
    { schema: { body: ACTION_BODY } },
    async (req, reply) => {
      const policy = policyOf();
      if (!policy) return noPolicy(reply);
      const t0 = performance.now();
      const action = withCaller(req.body.action, callerOf(req));
      const explain = req.body.explain === true;
      const p = policy.check(action, { explain });
      let rules: RulesOutcome | null = null;
      let allowed = p.allowed;
      let decision: string = p.allowed ? "allow" : "deny";
      let reason = p.reason;
      let code: string | undefined;
      // The policy's deny is final: rules see only what it allowed.
      const set = p.allowed ? ctx.rules?.() : null;
      if (set) {
        rules = set.evaluate(fromAction(action), { trace: explain });
        const d = toDecision(rules, set.file);
        if (d !== undefined) {
          decision = rules.action ?? "allow";
          allowed = d.verdict !== "block" && d.verdict !== "review";
          reason = rules.reason;
          code = rules.code;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      ctx.wasmMetrics.checks.inc({ decision });
      ctx.wasmMetrics.checkSeconds.observe(seconds);
      return {
        decision_id: randomUUID(),
        allowed,
        decision,
        reason,
        // a rule's refusal: rule_denied, rule_review, rule_plugin_error, rule_eval_error
        ...(code === undefined ? {} : { code }),
        policy: { revision: policy.revision, ...p },
        rules,
        duration_us: Math.round(seconds * 1e7) / 10,
      };
    },
  );

  app.get("/v1/policy", async (_req, reply) => {
    const policy = policyOf();
    if (!policy) return noPolicy(reply);
    return {
      file: policy.file,
      revision: policy.revision,
      version: policy.version,
      description: policy.description,
      summary: policy.summary,
    };
  });

  app.post<{ Body: CheckBody }>(
    "/v1/policy/explain",
    { schema: { body: ACTION_BODY } },
    async (req, reply) => {
      const policy = policyOf();
      if (!policy) return noPolicy(reply);
      const action = withCaller(req.body.action, callerOf(req));
      const d = policy.check(action, { explain: true });
      const hint = allowHint(policy, action, d);
      return { revision: policy.revision, ...d, ...(hint === undefined ? {} : { hint }) };
    },
  );

  app.post<{ Body: { rules?: string; action: Record<string, unknown> } }>(
    "/v1/rules/playground",
    {
      schema: {
        body: {
          type: "object",
          properties: { rules: { type: "string", maxLength: 262144 }, action: { type: "object" } },
          required: ["action"],
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      let set: RuleSet | null | undefined;
      if (req.body.rules !== undefined) {
        const r = parseRules(req.body.rules, "<playground>", { plugins: ctx.registry });
        if (!r.ok)
          return sendError(
            reply,
            "rules_invalid",
            `the rules have ${r.errors.length} problem(s); each is in details.errors`,
            { errors: r.errors },
          );
        set = r.rules;
      } else set = ctx.rules?.();
      if (!set)
        return sendError(
          reply,
          "admin_unavailable",
          "no rules are in force in this process: give warden.yaml a rules: file, or send the rules' YAML as rules",
        );
      return set.evaluate(fromAction(req.body.action), { trace: true });
    },
  );
}
