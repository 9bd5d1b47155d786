// node:fs plus a globSync (Node 22 API) for Node 20, used only by the conformance suite (its
// tier-check reads "**/checks.json"). Supports the options the suite uses: cwd, string or array.
import fs from "node:fs";
import path from "node:path";
import picomatch from "picomatch";

export * from "node:fs";
export default fs;

export function globSync(pattern, options = {}) {
  const cwd = options.cwd ? String(options.cwd) : process.cwd();
  const isMatch = picomatch(pattern, { dot: false });
  return fs
    .readdirSync(cwd, { recursive: true })
    .map((p) => String(p).split(path.sep).join("/"))
    .filter((p) => isMatch(p));
}
