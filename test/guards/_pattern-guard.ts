/**
 * Loading a pattern guard component (the JS or C example) as a `type: wasm` guard on every
 * phase, the way the component guard tests do, and closing every set loaded.
 */
import { afterAll, expect } from "vitest";
import { parseGuardsConfig } from "../../src/guards/config.js";
import { loadGuards } from "../../src/guards/loader.js";
import type { GuardSet } from "../../src/guards/set.js";
import { CACHE } from "./build.js";

/**
 * `load(entry)`: the guard `id` from the component at `file()` (read at each load), on every
 * phase with a 5 s deadline, `entry` keys over those; the sets are closed after the file's tests.
 */
export function patternGuardLoader(
  id: string,
  file: () => string,
): (entry?: Record<string, unknown>) => Promise<GuardSet> {
  const open: GuardSet[] = [];
  afterAll(() => {
    for (const p of open) p.close();
  });
  return async (entry = {}) => {
    const r = parseGuardsConfig(
      [
        {
          id,
          type: "wasm",
          module_path: file(),
          runs_on: ["tools_list", "tool_invoke", "response", "connection"],
          // A generous deadline unless a test sets one: these suites are about behaviour, not
          // speed, and on a loaded machine a call can stall past 100 ms (a JS engine's GC pause).
          timeout_ms: 5000,
          ...entry,
        },
      ],
      "/tmp/warden.yaml",
    );
    expect(r.issues).toEqual([]);
    const p = await loadGuards(r.guards, { cacheDir: CACHE });
    open.push(p);
    return p;
  };
}
