import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import type { NamedRules } from "../match/named.js";
import type { PermissionType } from "../registry.js";
import { badAction } from "../rule.js";
import type { PolicyDecision } from "../types.js";
import { compileResources, judgeResource, type ResourceRules } from "./resources.js";
import { compileNameRules, judgeName, type NameRule } from "./tools.js";
import { compileTransport, judgeTransport, type TransportRules } from "./transport.js";

/** The compiled `mcp` section. */
export interface McpCompiled {
  readonly tools?: NamedRules<NameRule>;
  readonly prompts?: NamedRules<NameRule>;
  readonly resources?: ResourceRules;
  readonly transport?: TransportRules;
  /** JSON-RPC methods a gateway does not know, allowed to pass through (`methods.allow`). */
  readonly methods?: NamedRules<NameRule>;
}

type A = Readonly<Record<string, unknown>>;

function complete(c: McpCompiled, a: A, ctx: CheckContext): PolicyDecision {
  const kind = "completion.complete";
  const ref = a.ref as Record<string, unknown> | undefined;
  if (ref === null || typeof ref !== "object")
    return badAction(kind, `"ref" must be an object {type, name|uri}`);
  const type = String(ref.type ?? "").replace(/^ref\//, "");
  if (type === "prompt") return judgeName(c.prompts, kind, { name: ref.name }, ctx, true);
  if (type === "resource") return judgeResource(c.resources, kind, { uri: ref.uri }, ctx, "read");
  return badAction(kind, `"ref.type" must be "ref/prompt" or "ref/resource"`);
}

/**
 * `mcp`: tools, prompts, resources and transports of an MCP gateway. Built as an ordinary
 * permission type through the registry, like any extension a host may add.
 */
export const mcpType: PermissionType<McpCompiled> = {
  key: "mcp",
  description: "MCP tools, prompts, resources and transports",
  schema: { $ref: shippedRef("policy", "#/definitions/mcp") },
  compile(value, ctx, path) {
    const v = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    if (v.tools !== undefined) out.tools = compileNameRules(v.tools, ctx, [...path, "tools"]);
    if (v.prompts !== undefined)
      out.prompts = compileNameRules(v.prompts, ctx, [...path, "prompts"]);
    if (v.resources !== undefined)
      out.resources = compileResources(v.resources, ctx, [...path, "resources"]);
    if (v.transport !== undefined)
      out.transport = compileTransport(v.transport, ctx, [...path, "transport"]);
    if (v.methods !== undefined)
      out.methods = compileNameRules(v.methods, ctx, [...path, "methods"]);
    return out as McpCompiled;
  },
  match: {
    "tool.call": (c, a, ctx) => judgeName(c.tools, "tool.call", a, ctx, false),
    "tool.list": (c, a, ctx) => judgeName(c.tools, "tool.list", a, ctx, true),
    "prompt.get": (c, a, ctx) => judgeName(c.prompts, "prompt.get", a, ctx, false),
    "prompt.list": (c, a, ctx) => judgeName(c.prompts, "prompt.list", a, ctx, true),
    "resource.read": (c, a, ctx) => judgeResource(c.resources, "resource.read", a, ctx, "read"),
    "resource.list": (c, a, ctx) => judgeResource(c.resources, "resource.list", a, ctx, "list"),
    "completion.complete": complete,
    "transport.connect": (c, a, ctx) => judgeTransport(c.transport, a, ctx),
    "method.call": (c, a, ctx) =>
      typeof a.method === "string"
        ? judgeName(c.methods, "method.call", { name: a.method }, ctx, true)
        : badAction("method.call", '"method" must be a string'),
  },
};
