/** Where the Python agent's `sitecustomize` lives, and PYTHONPATH with it first. */
import { delimiter, dirname, resolve } from "node:path";

/**
 * The folder holding the agent's `sitecustomize.py`, beside the Node agent's folder in dist/
 * (`dist/trace/agent/preload.cjs` → `dist/trace/python/site`).
 */
export function pythonSiteFor(nodeAgent: string): string {
  return resolve(dirname(nodeAgent), "..", "python", "site");
}

/** PYTHONPATH with `site` first (what was there kept after it). */
export function withPythonSite(pythonPath: string | undefined, site: string): string {
  if (pythonPath === undefined || pythonPath === "") return site;
  const parts = pythonPath.split(delimiter);
  if (parts[0] === site) return pythonPath;
  return [site, ...parts.filter((p) => p !== site)].join(delimiter);
}
