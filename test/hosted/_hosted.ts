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
