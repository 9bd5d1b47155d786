/**
 * What a component's reload follows: the component file (or, for a folder, its `.wasm` files
 * and their `<name>.wit`), its WIT source (`<name>.wit`, the `.wit` files of a `wit/` folder
 * beside it) and the policy files, watched by core's FileWatcher. Nothing else: a build writing
 * other files beside a component (objects, logs, a `.wasm.tmp` before its rename) causes no
 * reload; the rename onto a followed name is seen.
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FollowedFolder } from "../core/file-watch.js";

/** An entry of a `wit/` folder that matters: a `.wit` file, or a subfolder (no extension). */
const witEntry = (name: string) => name.endsWith(".wit") || !name.includes(".");

/** What a reload of `path` (a component file or folder) under `policies` follows. */
export function followedPaths(
  path: string,
  policies: readonly string[],
): (string | FollowedFolder)[] {
  const out: (string | FollowedFolder)[] = [...policies];
  if (isDir(path))
    out.push({
      folder: path,
      names: (n) => n.endsWith(".wasm") || n.endsWith(".wit") || n === "wit",
    });
  else {
    out.push(path);
    if (path.endsWith(".wasm")) out.push(`${path.slice(0, -5)}.wit`);
  }
  out.push({ folder: join(isDir(path) ? path : dirname(path), "wit"), names: witEntry });
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
