/**
 * Conversions between Warden's guard payloads and the WIT records of mcp:security-guard@0.1.0
 * as jco lifts and lowers them (camelCase fields, u64 as bigint, options as undefined, variants
 * as `{ tag, val }`). Structured MCP data crosses as JSON strings.
 */
import type {
  GuardContext,
  GuardDecision,
  GuardPhase,
  GuardTool,
  InvocationInfo,
  PhasePayload,
  ResponseInfo,
  ServerInfo,
} from "../types.js";

export interface WitTool {
  name: string;
  description: string | undefined;
  inputSchema: string;
  extra: string;
}

export interface WitContext {
  serverName: string;
  sessionId: string | undefined;
  clientName: string | undefined;
  phase: string;
  timestamp: bigint;
  knownServers: string[];
}

export type WitDecision =
  | { tag: "allow" }
  | { tag: "deny"; val: { code: string; message: string; details?: string | undefined } }
  | { tag: "modify"; val: string }
  | { tag: "warn"; val: string[] };

export function toWitContext(ctx: GuardContext, phase: GuardPhase): WitContext {
  return {
    serverName: ctx.serverName,
    sessionId: ctx.sessionId,
    clientName: ctx.clientName,
    phase,
    timestamp: BigInt(ctx.timestamp ?? Date.now()),
    knownServers: [...(ctx.knownServers ?? [])],
  };
}

export function toWitTool(t: GuardTool): WitTool {
  const description = t.description;
  return {
    name: t.name,
    description: typeof description === "string" ? description : undefined,
    inputSchema: t.inputSchema == null ? "{}" : JSON.stringify(t.inputSchema),
    extra: extraOf(t),
  };
}

/** The tool's other fields as a JSON object; "{}" without building one when there are none. */
function extraOf(t: GuardTool): string {
  let extra: Record<string, unknown> | undefined;
  for (const k in t) {
    if (k === "name" || k === "description" || k === "inputSchema" || !Object.hasOwn(t, k))
      continue;
    extra ??= {};
    extra[k] = (t as unknown as Record<string, unknown>)[k];
  }
  return extra === undefined ? "{}" : JSON.stringify(extra);
}

export function toWitServer(s: ServerInfo) {
  return {
    name: s.name,
    transport: s.transport,
    url: s.url,
    command: s.command,
    args: [...(s.args ?? [])],
  };
}

export function toWitInvocation(i: InvocationInfo) {
  return { method: i.method, toolName: i.name, arguments: JSON.stringify(i.arguments ?? {}) };
}

export function toWitResponse(r: ResponseInfo) {
  return {
    method: r.method,
    toolName: r.name,
    output: JSON.stringify(r.result ?? null),
    isError: r.isError,
  };
}

/** A thrown message from the guard, as the pipeline reports it. */
export class GuardOutputError extends Error {}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GuardOutputError(`${what} is not valid JSON`);
  }
}

/**
 * Turn the WIT decision into a guard decision, with a modify payload checked against the
 * phase: a changed tools list may drop or edit tools but never add one the server did not list.
 */
export function fromWitDecision<P extends GuardPhase>(
  d: WitDecision,
  phase: P,
  input: PhasePayload[P],
): GuardDecision {
  switch (d?.tag) {
    case "allow":
      return { kind: "allow" };
    case "deny": {
      const v = d.val;
      const details = v.details === undefined ? undefined : parseJson(v.details, "deny.details");
      return {
        kind: "deny",
        code: v.code,
        message: v.message,
        ...(details === undefined ? {} : { details: details as Record<string, unknown> }),
      };
    }
    case "warn":
      return { kind: "warn", messages: d.val };
    case "modify": {
      const v = parseJson(d.val, "the modified payload");
      return { kind: "modify", payload: modifiedPayload(phase, input, v) };
    }
    default:
      throw new GuardOutputError(
        `unknown decision ${JSON.stringify((d as { tag?: unknown })?.tag)}`,
      );
  }
}

function modifiedPayload(phase: GuardPhase, input: unknown, v: unknown): unknown {
  switch (phase) {
    case "tools_list": {
      if (!Array.isArray(v))
        throw new GuardOutputError("a modified tools list must be a JSON array of tools");
      const listed = new Set((input as GuardTool[]).map((t) => t.name));
      for (const t of v) {
        const name = (t as { name?: unknown })?.name;
        if (typeof name !== "string")
          throw new GuardOutputError("every tool of a modified tools list needs a string name");
        if (!listed.has(name))
          throw new GuardOutputError(
            `a modified tools list may not add tool "${name}" the server did not list`,
          );
      }
      return v;
    }
    case "request":
    case "tool_invoke":
      return { ...(input as InvocationInfo), arguments: v };
    case "response":
      return { ...(input as ResponseInfo), result: v };
    default:
      throw new GuardOutputError(`modify is not allowed on ${phase}`);
  }
}
