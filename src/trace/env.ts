/**
 * The environment a traced process runs with: the agent preloaded through NODE_OPTIONS, the
 * Python agent's sitecustomize first on PYTHONPATH, and the channel's address and token. `warden run` builds it for the program, and the agent puts it
 * back for every child whose caller dropped it (`env: {}`, a NODE_OPTIONS of its own).
 */
import { ENV_AGENT, ENV_CONFIG, ENV_TOKEN, ENV_URL } from "./protocol.js";
import { pythonSiteFor, withPythonSite } from "./python/site.js";

export interface TraceEnv {
  readonly url: string;
  readonly token: string;
  /** Absolute path of the agent's CommonJS preload (dist/trace/agent/preload.cjs). */
  readonly agent: string;
  /** The configuration handed over in a file (`ENV_CONFIG`'s value), when there is one. */
  readonly config?: string | undefined;
}

/** `--require "<agent>"`, quoted as NODE_OPTIONS reads it. */
export function requireFlag(agent: string): string {
  return `--require ${JSON.stringify(agent)}`;
}

/** NODE_OPTIONS with the agent first (kept when it is there already). */
export function withAgent(nodeOptions: string | undefined, agent: string): string {
  const flag = requireFlag(agent);
  if (nodeOptions === undefined || nodeOptions.trim() === "") return flag;
  if (nodeOptions.includes(flag)) return nodeOptions;
  return `${flag} ${nodeOptions}`;
}

/**
 * `env` with the trace put back; `restored` says whether anything was missing. The object is
 * copied only when something changes.
 */
export function tracedEnv(
  env: Readonly<Record<string, string | undefined>>,
  t: TraceEnv,
): { env: Record<string, string | undefined>; restored: boolean } {
  const opts = withAgent(env.NODE_OPTIONS, t.agent);
  // The Python agent's sitecustomize first on PYTHONPATH (a Python child is traced too).
  const pp = withPythonSite(env.PYTHONPATH, pythonSiteFor(t.agent));
  if (
    opts === env.NODE_OPTIONS &&
    pp === env.PYTHONPATH &&
    env[ENV_URL] === t.url &&
    env[ENV_TOKEN] === t.token &&
    env[ENV_AGENT] === t.agent &&
    (t.config === undefined || env[ENV_CONFIG] === t.config)
  )
    return { env: env as Record<string, string | undefined>, restored: false };
  return {
    env: {
      ...env,
      NODE_OPTIONS: opts,
      PYTHONPATH: pp,
      [ENV_URL]: t.url,
      [ENV_TOKEN]: t.token,
      [ENV_AGENT]: t.agent,
      ...(t.config !== undefined ? { [ENV_CONFIG]: t.config } : {}),
    },
    restored: true,
  };
}

/** The same on `KEY=value` pairs (what `ChildProcess.prototype.spawn` gets). */
export function tracedEnvPairs(pairs: string[], t: TraceEnv): boolean {
  let restored = false;
  const want: Record<string, string> = {
    [ENV_URL]: t.url,
    [ENV_TOKEN]: t.token,
    [ENV_AGENT]: t.agent,
  };
  if (t.config !== undefined) want[ENV_CONFIG] = t.config;
  let sawOptions = false;
  let sawPython = false;
  const site = pythonSiteFor(t.agent);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    const eq = p.indexOf("=");
    const k = eq < 0 ? p : p.slice(0, eq);
    if (k === "NODE_OPTIONS") {
      sawOptions = true;
      const v = p.slice(eq + 1);
      const w = withAgent(v, t.agent);
      if (w !== v) {
        pairs[i] = `NODE_OPTIONS=${w}`;
        restored = true;
      }
    } else if (k === "PYTHONPATH") {
      sawPython = true;
      const v = p.slice(eq + 1);
      const w = withPythonSite(v, site);
      if (w !== v) {
        pairs[i] = `PYTHONPATH=${w}`;
        restored = true;
      }
    } else if (k in want) {
      if (p.slice(eq + 1) !== want[k]) {
        pairs[i] = `${k}=${want[k]}`;
        restored = true;
      }
      delete want[k];
    }
  }
  if (!sawOptions) {
    pairs.push(`NODE_OPTIONS=${requireFlag(t.agent)}`);
    restored = true;
  }
  if (!sawPython) {
    pairs.push(`PYTHONPATH=${site}`);
    restored = true;
  }
  for (const [k, v] of Object.entries(want)) {
    pairs.push(`${k}=${v}`);
    restored = true;
  }
  return restored;
}
