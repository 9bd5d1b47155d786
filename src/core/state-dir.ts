/**
 * Where Warden keeps what outlives a run when nothing says otherwise: the XDG state directory
 * (`$XDG_STATE_HOME/warden`, else `~/.local/state/warden`), never the package or the current
 * directory. warden.yaml's `state.dir` overrides it for a gateway (docs/gateway.md, "State").
 * Every default that writes state (rug_pull pins, the default audit file, the gateway's caches)
 * goes through `defaultStateDir`, so one variable moves them all.
 */
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/**
 * `$XDG_STATE_HOME/warden`, else `~/.local/state/warden`. A relative `XDG_STATE_HOME` is
 * ignored, as the XDG Base Directory specification says (it would name a folder of the cwd).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), ".local", "state");
  return join(base, "warden");
}

/** The files and folders under a state directory, named once. */
export const STATE_FILES = Object.freeze({
  /** rug_pull's pins (docs/guards.md). */
  pins: "pins.json",
  /** The audit log when `audit: true` (or audit without `file`). */
  audit: "audit.jsonl",
  /** Transpiled components and instrumented WebAssembly modules of the gateway's guards. */
  cache: "cache",
});
