/**
 * Shape checks of the MCP results the gateway reads or judges, by hand (a few typeof tests per
 * answer; the SDK's zod schemas cost tens of microseconds per answer on the hot path). Only what
 * the gateway, the policy or the merge read is checked, as the MCP schema states it: a result
 * that fails is refused before it is judged, and its sender gets an error instead.
 */
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** `list` must be an array of objects whose `key` is a string; the reason it is not. */
function items(r: Obj, list: string, key: string, required: boolean): string | undefined {
  const v = r[list];
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v)) return `"${list}" must be an array`;
  for (let i = 0; i < v.length; i++) {
    const it = v[i];
    if (!isObj(it)) return `${list}[${i}] must be an object`;
    if (typeof it[key] !== "string") return `${list}[${i}].${key} must be a string`;
  }
  return undefined;
}

/**
 * Why `params`, a client's request of `method`, is not the shape MCP gives it, as far as the
 * gateway routes and judges it (names and URIs are strings, tool arguments an object).
 */
export function invalidParams(method: string, params: Obj): string | undefined {
  switch (method) {
    case "tools/call":
      if (typeof params.name !== "string") return '"params.name" must be a string';
      if (params.arguments !== undefined && !isObj(params.arguments))
        return '"params.arguments" must be an object';
      return undefined;
    case "prompts/get":
      if (typeof params.name !== "string") return '"params.name" must be a string';
      if (params.arguments !== undefined && !isObj(params.arguments))
        return '"params.arguments" must be an object';
      return undefined;
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe":
      return typeof params.uri === "string" ? undefined : '"params.uri" must be a string';
    case "completion/complete": {
      const ref = params.ref;
      if (!isObj(ref) || typeof ref.type !== "string")
        return '"params.ref" must be an object with a "type"';
      if (typeof ref.name !== "string" && typeof ref.uri !== "string")
        return '"params.ref" must have a string "name" or "uri"';
      return undefined;
    }
    default:
      return params === undefined || isObj(params) ? undefined : '"params" must be an object';
  }
}

/**
 * Why `result`, the answer to `method`, is not the shape MCP gives it (as far as the gateway
 * reads it); undefined when it is, or when the gateway does not read that method's results.
 */
export function invalidResult(method: string, result: Obj): string | undefined {
  switch (method) {
    case "initialize":
      if (typeof result.protocolVersion !== "string") return '"protocolVersion" must be a string';
      if (result.capabilities !== undefined && !isObj(result.capabilities))
        return '"capabilities" must be an object';
      return undefined;
    case "tools/list":
      return items(result, "tools", "name", true);
    case "prompts/list":
      return items(result, "prompts", "name", true);
    case "resources/list":
      return items(result, "resources", "uri", true);
    case "resources/templates/list":
      return items(result, "resourceTemplates", "uriTemplate", true);
    case "roots/list":
      return items(result, "roots", "uri", true);
    case "tools/call":
      if (result.content !== undefined && !Array.isArray(result.content))
        return '"content" must be an array';
      return undefined;
    case "resources/read":
      return items(result, "contents", "uri", true);
    case "prompts/get": {
      const m = result.messages;
      if (!Array.isArray(m)) return '"messages" must be an array';
      for (let i = 0; i < m.length; i++)
        if (!isObj(m[i]) || !isObj((m[i] as Obj).content))
          return `messages[${i}] must be an object with a "content" object`;
      return undefined;
    }
    default:
      return undefined;
  }
}
