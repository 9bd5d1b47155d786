/**
 * How a Warden call becomes the plugin input rules judge (Acteon's action context):
 *
 * | input         | a gateway call (tools/call, prompts/get, resources/read)                  |
 * | ------------- | ------------------------------------------------------------------------- |
 * | `namespace`   | `"mcp"`                                                                    |
 * | `tenant`      | the caller (the token's name over HTTP, `caller` of warden.yaml on stdio)  |
 * | `provider`    | the upstream (its name in warden.yaml)                                     |
 * | `action_type` | the tool name, the prompt name, or the resource URI, as the client sent it |
 * | `payload`     | the tool's or prompt's arguments; `{uri}` for resources/read               |
 * | `metadata`    | method, session, client (clientInfo name@version), transport, and name (the upstream's own name for the tool or prompt) |
 *
 * `fromAction` maps a Warden action as `warden policy eval` takes it (tool.call, prompt.get,
 * resource.read) the same way, and takes the plugin input itself as it is.
 */
import { WardenError } from "../core/errors.js";
import type { ActionContext } from "./types.js";

/** What rules read of a gateway call's meta (a structural view: rules do not import mcp). */
export interface RulesCallMeta {
  phase: string;
  caller: string;
  upstream: string | null;
  method: string;
  session?: string;
  client?: string;
  transport?: string;
  target?: string;
  name?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {};

/** The input of a judged gateway call; null for a call rules do not judge. */
export function fromGatewayCall(
  fn: string,
  args: unknown,
  meta: RulesCallMeta,
): ActionContext | null {
  let actionType: string;
  let payload: unknown;
  if (meta.phase === "tool_invoke") {
    actionType = fn;
    payload = args ?? {};
  } else if (meta.phase === "request" && fn === "prompts/get") {
    const a = obj(args);
    actionType = meta.target ?? String(a.name ?? "");
    payload = a.arguments ?? {};
  } else if (meta.phase === "request" && fn === "resources/read") {
    const a = obj(args);
    actionType = meta.target ?? String(a.uri ?? "");
    payload = { uri: a.uri };
  } else return null;
  const metadata: Record<string, string> = {
    method: meta.phase === "tool_invoke" ? "tools/call" : fn,
  };
  if (meta.session !== undefined) metadata.session = meta.session;
  if (meta.client !== undefined) metadata.client = meta.client;
  if (meta.transport !== undefined) metadata.transport = meta.transport;
  if (meta.name !== undefined) metadata.name = meta.name;
  return {
    namespace: "mcp",
    tenant: meta.caller,
    provider: meta.upstream ?? "",
    action_type: actionType,
    payload,
    metadata,
  };
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v)))
    out[k] = typeof x === "string" ? x : JSON.stringify(x);
  return out;
}

function bad(message: string): WardenError {
  return new WardenError("rules_bad_action", message, { category: "usage" });
}

/**
 * The input for an action given as JSON: the plugin input itself (it has `action_type`), or a
 * Warden action (`kind`: tool.call, prompt.get, resource.read; with `caller` and `upstream`).
 */
export function fromAction(value: unknown): ActionContext {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw bad(
      "the action must be a JSON object: the plugin input ({action_type, payload, ...}) or a Warden action ({kind: tool.call, name, arguments})",
    );
  const a = value as Obj;
  if (typeof a.action_type === "string")
    return {
      namespace: typeof a.namespace === "string" ? a.namespace : "mcp",
      tenant: typeof a.tenant === "string" ? a.tenant : "",
      provider: typeof a.provider === "string" ? a.provider : "",
      action_type: a.action_type,
      payload: a.payload ?? {},
      metadata: strings(a.metadata),
    };
  const meta = (method: string): Record<string, string> => ({ method });
  const base = {
    namespace: "mcp",
    tenant: typeof a.caller === "string" ? a.caller : "",
    provider: typeof a.upstream === "string" ? a.upstream : "",
  };
  switch (a.kind) {
    case "tool.call":
      if (typeof a.name !== "string") break;
      return {
        ...base,
        action_type: a.name,
        payload: a.arguments ?? {},
        metadata: meta("tools/call"),
      };
    case "prompt.get":
      if (typeof a.name !== "string") break;
      return {
        ...base,
        action_type: a.name,
        payload: a.arguments ?? {},
        metadata: meta("prompts/get"),
      };
    case "resource.read":
      if (typeof a.uri !== "string") break;
      return {
        ...base,
        action_type: a.uri,
        payload: { uri: a.uri },
        metadata: meta("resources/read"),
      };
  }
  throw bad(
    `the action has neither action_type (the plugin input) nor a kind rules judge with its name or uri (tool.call, prompt.get, resource.read); got kind ${JSON.stringify(a.kind)}`,
  );
}
