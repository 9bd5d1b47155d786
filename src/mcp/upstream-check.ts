/**
 * What can be known about a stdio upstream before it is started: its command exists and is
 * executable, and its working directory exists. Checked by `Gateway.start` (a missing binary is
 * a start-up error, not a restart loop) and by `warden gateway --check`.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { StdioUpstreamConfig, UpstreamConfig } from "./config-types.js";

function executable(file: string): "ok" | "missing" | "not_executable" | "directory" {
  try {
    if (statSync(file).isDirectory()) return "directory";
  } catch {
    return "missing";
  }
  try {
    accessSync(file, constants.X_OK);
    return "ok";
  } catch {
    return "not_executable";
  }
}

/**
 * Why `cfg`'s command cannot be started, or undefined when it can. Resolved as spawn resolves
 * it: a name without a slash through PATH (the upstream's own `env.PATH`, else the gateway's),
 * a path relative to the upstream's `cwd`.
 */
export function commandProblem(cfg: StdioUpstreamConfig): string | undefined {
  const cwd = cfg.cwd ?? process.cwd();
  if (cfg.cwd !== undefined) {
    let dir = false;
    try {
      dir = statSync(cfg.cwd).isDirectory();
    } catch {}
    if (!dir) return `its cwd "${cfg.cwd}" is not a directory that exists`;
  }
  const cmd = cfg.command;
  if (cmd.includes("/")) {
    const file = isAbsolute(cmd) ? cmd : resolve(cwd, cmd);
    switch (executable(file)) {
      case "ok":
        return undefined;
      case "missing":
        return `its command "${cmd}" does not exist${file === cmd ? "" : ` (${file})`}`;
      case "directory":
        return `its command "${cmd}" is a directory`;
      default:
        return `its command "${cmd}" is not executable (chmod +x it, or run it through its interpreter)`;
    }
  }
  const path = cfg.env.PATH ?? process.env.PATH ?? "";
  let found: "not_executable" | undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const r = executable(join(resolve(cwd, dir), cmd));
    if (r === "ok") return undefined;
    if (r === "not_executable") found = r;
  }
  return found
    ? `its command "${cmd}" is on PATH but not executable`
    : `its command "${cmd}" was not found on PATH (${path || "empty"})`;
}

/**
 * One line per stdio upstream that cannot be started, naming the config file and key:
 * `warden.yaml: upstreams[0].command: upstream "files": its command "srv" was not found ...`.
 */
export function upstreamProblems(
  file: string,
  upstreams: readonly UpstreamConfig[],
  only: (u: UpstreamConfig) => boolean = () => true,
): string[] {
  const out: string[] = [];
  for (const [i, u] of upstreams.entries()) {
    if (u.kind !== "stdio" || !only(u)) continue;
    const p = commandProblem(u);
    if (p === undefined) continue;
    const key = p.startsWith("its cwd") ? "cwd" : "command";
    out.push(
      `${file}: upstreams[${i}].${key}: upstream "${u.name}" cannot be started: ${p}. Install it or fix the path in the config.`,
    );
  }
  return out;
}
