/** A component server in-process (the tests' component cache), and what its calls answer. */
import { type HostedOptions, HostedServer } from "../../src/hosted/server.js";
import { CACHE } from "./build.js";

/** A tool call's answer, as the tests read it. */
export type Answer = {
  structuredContent?: unknown;
  isError?: boolean;
  content: { text: string }[];
  _meta?: Record<string, unknown>;
};

/** The Warden error code of an answer (`_meta["warden/error"].code`), if any. */
export const code = (a: Answer) =>
  (a._meta?.["warden/error"] as { code?: string } | undefined)?.code;

/** `HostedServer.open(opts)` with the tests' cache; `fn` runs with it, and it is closed after. */
export async function withHosted<T>(
  opts: HostedOptions,
  fn: (h: HostedServer) => Promise<T>,
): Promise<T> {
  const h = await HostedServer.open({ cacheDir: CACHE, ...opts });
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

/**
 * Resolves once the next call `h` runs has sent a host call's event to the main thread: a
 * component that makes a host call and then waits in another (peek-then-sleep) is waiting by
 * then, since a worker flushes its events before a host call that may wait. Only that one call
 * is watched.
 */
export function nextHostCall(h: HostedServer): Promise<void> {
  const pool = h.pool;
  const call = pool.call;
  return new Promise((resolve) => {
    pool.call = (component, tool, args, timeoutMs, onEvents, ...rest) => {
      pool.call = call;
      return call.call(
        pool,
        component,
        tool,
        args,
        timeoutMs,
        (m) => {
          if (m.events.length > 0) resolve();
          onEvents?.(m);
        },
        ...rest,
      );
    };
  });
}
