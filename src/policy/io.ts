/**
 * The policy layer's only I/O, at its edge: reading a policy file, and resolving symlinks for
 * callers at the host boundary. Matching itself never touches the file system.
 */
import { readFile, realpath } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { type CompileOptions, type CompileResult, compilePolicy } from "./compile.js";

/** Read and compile a policy file; a file that cannot be read is a located error too. */
export async function loadPolicyFile(
  path: string,
  opts: Omit<CompileOptions, "file"> & { file?: string } = {},
): Promise<CompileResult> {
  const file = opts.file ?? path;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOENT"
        ? "the file does not exist: check the path"
        : err.code === "EISDIR"
          ? "it is a directory, not a policy file"
          : err.code === "EACCES"
            ? "permission denied"
            : err.message;
    return {
      ok: false,
      errors: [
        {
          file,
          line: 1,
          col: 1,
          code: "policy_file",
          key: "",
          message: `cannot read policy: ${why}`,
        },
      ],
    };
  }
  return compilePolicy(text, { ...opts, file });
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
