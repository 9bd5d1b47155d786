/**
 * A `Call` describes any crossing Warden judges: who calls (`source`), what is called
 * (`target`: a component, an MCP server, a host), the `function`, its `args`, and the `phase`.
 * Calls are plain mutable objects owned by the layer that made them: strategies may rewrite
 * `args` in `beforeCall` and `result` in `afterCall`. The chain never copies them.
 */
export type Phase = "before" | "after";

/**
 * What a layer keeps on its calls. A layer names its own shape (the gateway's
 * `GatewayCallMeta`, the guards' `GuardCallMeta`) and types its calls, chains and strategies
 * with it: `Call<GatewayCallMeta>`, `Chain<GatewayCallMeta>`. Untyped, it is opaque: a
 * strategy that does not name a shape (the built-in ones) reads no meta, and so fits any chain.
 */
export type CallMeta = object;

export interface Call<M extends CallMeta = CallMeta> {
  /** Who calls: an agent, a client session, a plugin, a process. */
  source: string;
  /** What is called: a component, an upstream MCP server, a host. */
  target: string;
  /** The function, tool, method or operation. */
  function: string;
  /** The arguments; strategies may replace them in `beforeCall`. */
  args: unknown;
  /** Where the call is in its life: judged before the target runs, or after it returned. */
  phase: Phase;
  /** The result once the target ran (or what a bypassing strategy supplied). */
  result?: unknown;
  /** True when a strategy's shouldBypass skipped the target. */
  bypassed?: boolean;
  /** The error the target threw, if it did. */
  error?: unknown;
  /** Start time (ms, `performance.now()`), set by strategies that time calls. */
  startedAt?: number;
  /** What the layer that made the call keeps on it (MCP session id, upstream, phase...). */
  meta?: M;
}

/** Make a call; a convenience for callers that do not keep their own objects. */
export function makeCall<M extends CallMeta = CallMeta>(
  source: string,
  target: string,
  fn: string,
  args: unknown = undefined,
  meta?: M,
): Call<M> {
  const call: Call<M> = { source, target, function: fn, args, phase: "before" };
  if (meta !== undefined) call.meta = meta;
  return call;
}
