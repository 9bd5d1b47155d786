/**
 * The guard model: what a guard is shown (a phase, a payload, a context) and what it answers
 * (allow, deny, modify or warn). Built-in guards and WebAssembly guards share it.
 */

/** Where in the life of an MCP session a guard looks. */
export const GUARD_PHASES = [
  "connection",
  "request",
  "response",
  "tools_list",
  "tool_invoke",
] as const;
export type GuardPhase = (typeof GUARD_PHASES)[number];

/** An MCP tool as a server lists it (the fields guards read; others pass through). */
export interface GuardTool {
  name: string;
  description?: string;
  inputSchema?: unknown;
  [key: string]: unknown;
}

/** An upstream about to be connected (`connection`). */
export interface ServerInfo {
  name: string;
  transport: "stdio" | "http";
  url?: string;
  command?: string;
  args?: readonly string[];
}

/** A request on its way upstream (`request`, `tool_invoke`). */
export interface InvocationInfo {
  /** `tools/call` for tool_invoke; any other method for request. */
  method: string;
  /** The tool, prompt or resource URI the request names ("" when none). */
  name: string;
  /** The request's params (for tools/call: the tool's arguments). */
  arguments: unknown;
}

/** A result on its way back to the client (`response`). */
export interface ResponseInfo {
  method: string;
  name: string;
  /** The result (for tools/call: `{ content: [...], isError }`). */
  result: unknown;
  isError: boolean;
}

/** The payload of each phase. */
export interface PhasePayload {
  connection: ServerInfo;
  request: InvocationInfo;
  response: ResponseInfo;
  tools_list: GuardTool[];
  tool_invoke: InvocationInfo;
}

/** Where and when a payload was seen. */
export interface GuardContext {
  /** The upstream server (its name in warden.yaml). */
  serverName: string;
  sessionId?: string;
  clientName?: string;
  /** Unix ms; the pipeline fills it when absent. */
  timestamp?: number;
  /** Every upstream the gateway knows. */
  knownServers?: readonly string[];
  /** tools_list: every server's tool names in the listing being judged (merged lists). */
  peerTools?: Readonly<Record<string, readonly string[]>>;
  /**
   * tool_invoke: fetch `serverName`'s tools/list now, every page (to a bound), as the upstream
   * answers it (rug_pull pins a called tool no listing showed it: builtin/unlisted.ts). Rejects
   * with why it could not.
   */
  listTools?: () => Promise<readonly GuardTool[]>;
}

/** A guard's answer. */
export type GuardDecision =
  | { readonly kind: "allow" }
  | {
      readonly kind: "deny";
      readonly code: string;
      readonly message: string;
      readonly details?: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: "modify"; readonly payload: unknown; readonly messages?: readonly string[] }
  | { readonly kind: "warn"; readonly messages: readonly string[] };

export type DecisionKind = GuardDecision["kind"];

/**
 * A guard instance. `evaluate` answers synchronously: built-in guards are plain code, and
 * WebAssembly guards run to completion (or to their time, memory or fuel limit) inside the
 * sandbox. It may throw: the pipeline treats a throw as a guard failure and applies the guard's
 * failure_mode.
 */
export interface Guard {
  readonly id: string;
  /** `wasm`, `wasm-core` or a built-in type name. */
  readonly type: string;
  evaluate<P extends GuardPhase>(
    phase: P,
    payload: PhasePayload[P],
    context: GuardContext,
  ): GuardDecision;
  /**
   * Optional: fetch what `evaluate` will need for this payload from state kept outside the
   * process (rug_pull with `state.redis`). The host awaits it, then calls `evaluate`; undefined
   * means nothing to fetch (nothing is awaited). It should not reject: what it could not fetch,
   * `evaluate` refuses (fail closed); a rejection fails the host's whole judgement.
   */
  prepare?<P extends GuardPhase>(
    phase: P,
    payload: PhasePayload[P],
    context: GuardContext,
  ): Promise<void> | undefined;
  /** Release what the guard holds (instances, file handles). */
  close?(): void | Promise<void>;
}
