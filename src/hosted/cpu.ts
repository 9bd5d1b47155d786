/**
 * `resources.limits.cpu` for hosted components, enforced as what it can honestly mean here:
 * cores. A tool call runs on one worker thread, so it never uses more than one core; `cpu: N`
 * (N ≥ 1) lets at most ⌊N⌋ calls of the component run at once (one core each), the others
 * wait their turn. A fraction of a core (`500m`) cannot be enforced on a thread (no CPU shares
 * for threads): it is refused at load, located at its `file:line:col`, naming what bounds a
 * call's CPU instead (`execution_time`, `runtime.fuel`). The strictest of the policies applies.
 */
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { WardenError } from "../core/errors.js";
import type { CompiledPolicy } from "../policy/policy.js";

/** Where the cpu key is written in `file` (`file:line:col`), or the file alone. */
function located(file: string): string {
  try {
    const lc = new LineCounter();
    const doc = parseDocument(readFileSync(file, "utf8"), { lineCounter: lc });
    for (const path of [
      ["resources", "limits", "cpu"],
      ["permissions", "resources", "cpu"],
    ]) {
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) {
        const { line, col } = lc.linePos(node.range[0]);
        return `${file}:${line}:${col}`;
      }
    }
  } catch {
    // the policy compiled, so it parses; a file gone since then is named alone
  }
  return file;
}

/**
 * How many calls of one component may run at once, from the policies' `resources.limits.cpu`
 * (undefined: no cpu key; the pool's worker threads bound it). Throws
 * `hosted_limit_unenforceable` for a fraction of a core.
 */
export function hostedCpu(policies: readonly CompiledPolicy[]): number | undefined {
  let cores: number | undefined;
  for (const p of policies) {
    const c = p.limits.cpu;
    if (typeof c !== "number") continue;
    if (c < 1)
      throw new WardenError(
        "hosted_limit_unenforceable",
        `${located(p.file)}: resources.limits.cpu is ${c} core(s): a hosted component's call runs on one worker thread and cannot be held to a fraction of a core. Set cpu to 1 or more (it bounds how many of the component's calls run at once, one core each), or remove it and bound each call's CPU with resources.limits.execution_time or runtime.fuel.`,
        { category: "config", details: { file: p.file, key: "resources.limits.cpu", cpu: c } },
      );
    cores = Math.min(cores ?? Number.POSITIVE_INFINITY, Math.floor(c));
  }
  return cores;
}
