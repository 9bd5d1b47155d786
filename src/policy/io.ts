/**
 * The policy layer's only I/O, at its edge: reading a policy file, and resolving symlinks for
 * callers at the host boundary. Matching itself never touches the file system: a host hands
 * `resolveRealPathSync` to `check` (`CheckOptions.realPath`) when paths name its own files.
 */
import { lstatSync, readFileSync, readlinkSync, realpathSync, type Stats } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { canonicalPathOf } from "./canon/path.js";
import { type CompileOptions, type CompileResult, compilePolicy } from "./compile.js";

/** Options of the loaders: compile options, and the config key that named the file, if any. */
export type LoadOptions = Omit<CompileOptions, "file"> & {
  file?: string;
  /** The key of the caller's config that names this file (`policy` in warden.yaml), for messages. */
  key?: string;
};

/** Read and compile a policy file; a file that cannot be read is a located error too. */
export async function loadPolicyFile(path: string, opts: LoadOptions = {}): Promise<CompileResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return unreadable(path, opts, e);
  }
  return compile(text, path, opts);
}

/**
 * `loadPolicyFile` for a host that loads synchronously (the gateway at start and on a reload,
 * whose swap must not interleave with the calls it judges): the same reading, errors and result.
 */
export function loadPolicyFileSync(path: string, opts: LoadOptions = {}): CompileResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return unreadable(path, opts, e);
  }
  return compile(text, path, opts);
}

function compile(text: string, path: string, opts: LoadOptions): CompileResult {
  const { key: _, ...rest } = opts;
  return compilePolicy(text, { ...rest, file: opts.file ?? path });
}

function unreadable(path: string, opts: LoadOptions, e: unknown): CompileResult {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === "ENOENT"
      ? "the file does not exist: check the path"
      : err.code === "EISDIR"
        ? "it is a directory, not a policy file"
        : err.code === "EACCES"
          ? "permission denied"
          : err.message;
  const hint = opts.key === undefined ? "" : ` (fix "${opts.key}:" in the config that names it)`;
  return {
    ok: false,
    errors: [
      {
        file: opts.file ?? path,
        line: 1,
        col: 1,
        code: "policy_file",
        key: opts.key ?? "",
        message: `cannot read policy: ${why}${hint}`,
      },
    ],
  };
}

/**
 * Resolve symlinks of an absolute path as the kernel would, for callers to run at the host
 * boundary before `check` (so `/tmp/link -> /etc` is judged as `/etc`). A path whose tail does
 * not exist yet (a file about to be written) is resolved through its nearest existing parent.
 */
export async function resolveRealPath(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(await resolveRealPath(parent), basename(abs));
  }
}

/** As the kernel: at most 40 symbolic links followed in one resolution (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * `CheckOptions.realPath` for files on this host: the canonical absolute `path` resolved through
 * the real file system, as the kernel would open it. The longest existing prefix goes through
 * `realpath(3)` and the rest is appended as written; a dangling symbolic link on the way is
 * followed to where it points (a file created through it lands there). Refused (the check
 * denies, with the reason): a `..` in `raw` that comes after a symbolic link (the kernel goes to
 * the parent of the link's target, a lexical reader to the parent of the link: the two open
 * different files), symbolic link loops, and any error but "does not exist" (permission
 * denied, name too long...). Synchronous: checks are (one `realpath` call when the file exists;
 * see docs/gateway.md for its cost).
 */
export function resolveRealPathSync(
  path: string,
  raw: string = path,
): string | { readonly refused: string } {
  const r = resolveExisting(path);
  if (typeof r !== "string" || !raw.includes("..")) return r;
  // Every `..` segment of the input: the lexical path before it must be its own real path.
  for (let i = raw.indexOf(".."); i >= 0; i = raw.indexOf("..", i + 2)) {
    if (!isDotDot(raw, i)) continue;
    const before = canonicalPathOf(raw.slice(0, i), false);
    if (before === undefined || before === "/") continue;
    const real = resolveExisting(before);
    if (typeof real !== "string") return real;
    if (real !== before)
      return {
        refused: `".." follows the symbolic link in ${before} (the kernel would go to the parent of ${real}, a lexical reader to the parent of ${before}); write the path without ".."`,
      };
  }
  return r;
}

function isDotDot(s: string, i: number): boolean {
  const a = i === 0 ? 47 : s.charCodeAt(i - 1);
  const b = i + 2 === s.length ? 47 : s.charCodeAt(i + 2);
  return a === 47 && b === 47;
}

/** The longest existing prefix through realpath, the rest appended; dangling links followed. */
function resolveExisting(path: string): string | { readonly refused: string } {
  // The common case, an existing path: one realpath(3), one readlink(2) per component.
  try {
    return realpathSync.native(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") return refusal(path, code, e);
  }
  // Walk up to the deepest name that exists (lstat without exceptions), following a dangling link.
  let head = path;
  let tail = "";
  let links = 0;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = lstatSync(head, { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTDIR") return refusal(path, code, e);
    }
    if (st === undefined) {
      if (head === "/") return path;
      tail = tail === "" ? basename(head) : `${basename(head)}/${tail}`;
      head = dirname(head);
      continue;
    }
    let real: string | undefined;
    try {
      real = realpathSync.native(head);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!st.isSymbolicLink() || code !== "ENOENT") return refusal(path, code, e);
    }
    if (real !== undefined)
      return tail === "" ? real : real === "/" ? `/${tail}` : `${real}/${tail}`;
    // A dangling link: a file created through it lands where it points.
    if (++links > MAX_LINKS) return refusal(path, "ELOOP");
    const target = readlinkSync(head);
    const next = canonicalPathOf(resolve(dirname(head), target), false);
    if (next === undefined)
      return { refused: `${head} is a symbolic link to "${target}", which cannot be judged` };
    head = next;
  }
}

function refusal(path: string, code: string | undefined, e?: unknown): { refused: string } {
  const why =
    code === "ELOOP"
      ? "too many symbolic links (a loop?)"
      : code === "EACCES"
        ? "permission denied while following it"
        : code === "ENAMETOOLONG"
          ? "the name is too long"
          : `${code ?? "error"}: ${(e as Error | undefined)?.message ?? ""}`;
  return { refused: `${path} cannot be resolved through the file system (${why})` };
}
