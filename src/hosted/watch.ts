/**
 * What a component's reload follows: the component file (or every file of its folder), its WIT
 * source, its `wit/` folder and the policy files (watched by core's FileWatcher).
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";

/** What a reload of `path` (a component file or folder) under `policies` follows. */
export function followedPaths(path: string, policies: readonly string[]): string[] {
  const out = [path, ...policies];
  if (path.endsWith(".wasm")) out.push(`${path.slice(0, -5)}.wit`);
  out.push(join(isDir(path) ? path : dirname(path), "wit"));
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
