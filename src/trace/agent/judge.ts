/**
 * The agent's judge: Warden's own compiled policy, asked synchronously before a hooked call
 * goes on. Paths are judged on what the kernel would open (`resolveRealPathSync`); the answer
 * for a path judged before is remembered, and forgotten whenever this thread changes a name
 * (symlink, rename, unlink, rm, link, cp) and not used while a child it started is running (a
 * child could swap a symbolic link: docs/trace.md, "Limits").
 */
import { accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import type { Verdict } from "../../core/decision.js";
import { resolveRealPathSync } from "../../policy/io.js";
import type { CompiledPolicy } from "../../policy/policy.js";
import type { PolicyDecision } from "../../policy/types.js";
import { actionFor, type Op, SECTION_OF, unjudgedVerdict, verdictOf } from "../actions.js";

export interface Judged {
  readonly verdict: Verdict;
  /** The policy's decision, when a section judged the operation. */
  readonly decision: PolicyDecision | undefined;
}

const CACHE_MAX = 16_384;
const NOT_JUDGED: Judged = Object.freeze({ verdict: "allow", decision: undefined });
const CHECK_OPTS = Object.freeze({ realPath: resolveRealPathSync });

export class Judge {
  readonly #policy: CompiledPolicy;
  readonly #sections: ReadonlySet<string>;
  readonly #reads = new Map<string, Judged>();
  readonly #writes = new Map<string, Judged>();
  /** Children started by this thread that are still running: the cache is not used meanwhile. */
  children = 0;
  /** Inside a check: hooked calls the policy layer makes itself pass through unjudged. */
  busy = false;

  constructor(policy: CompiledPolicy, sections: readonly string[]) {
    this.#policy = policy;
    this.#sections = new Set(sections);
  }

  judges(section: string): boolean {
    return this.#sections.has(section);
  }

  /** A file operation on `path` (absolute, or relative to the working directory). */
  path(write: boolean, path: string): Judged {
    if (!this.#sections.has("storage")) return NOT_JUDGED;
    const abs = path.charCodeAt(0) === 47 ? path : resolve(path);
    const cache = write ? this.#writes : this.#reads;
    if (this.children === 0) {
      const known = cache.get(abs);
      if (known !== undefined) return known;
    }
    const j = this.op({ kind: write ? "write" : "read", target: abs });
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(abs, j);
    return j;
  }

  /** Any operation; paths through `path` (remembered), the rest judged each time. */
  op(op: Op): Judged {
    const section = SECTION_OF[op.kind];
    if (section === null) return { verdict: unjudgedVerdict(op), decision: undefined };
    // A program run with no commands section is still shown (display), as before it was judged.
    if (!this.#sections.has(section))
      return op.kind === "exec"
        ? { verdict: unjudgedVerdict(op), decision: undefined }
        : NOT_JUDGED;
    const action = actionFor(op);
    if (action === null) return NOT_JUDGED;
    this.busy = true;
    try {
      const d = this.#policy.check(
        action,
        op.kind === "read" || op.kind === "write" || op.kind === "exec" ? CHECK_OPTS : undefined,
      );
      return { verdict: verdictOf(op, d), decision: d };
    } finally {
      this.busy = false;
    }
  }

  /** The absolute path of a program to exec, searched in PATH as execvp does (as given if not found). */
  which(file: string, pathEnv: string | undefined): string {
    if (file.includes("/")) return file.charCodeAt(0) === 47 ? file : resolve(file);
    this.busy = true;
    try {
      for (const dir of (pathEnv ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
        const p = resolve(dir === "" ? "." : dir, file);
        try {
          accessSync(p, constants.X_OK);
          return p;
        } catch {}
      }
      return file;
    } finally {
      this.busy = false;
    }
  }

  /** This thread changed a name: paths judged before may now lead elsewhere. */
  forget(): void {
    this.#reads.clear();
    this.#writes.clear();
  }
}
