/**
 * Load components for serving: read the file (or every `.wasm` of a folder), transpile it with
 * jco (cached on disk, src/sandbox/component/transpile.ts), read its exports' types and refuse
 * at load what cannot be served (an import the host does not provide, a function taking a
 * resource, a tool name collision). Nothing is instantiated here: instances live in the
 * workers (./pool.ts).
 *
 * Types come from two places: the component's own root world (wasm-tools' `componentWit`,
 * which names its exports with versions and types world-level functions fully), and, for
 * exported interfaces, the component's WIT source beside it (`<name>.wit`, or every `.wit` file
 * of a `wit/` folder beside it, subfolders included), which also carries the doc comments that
 * become tool descriptions (componentize-js does not keep them in the component). The source
 * is trusted to describe the component (it is the WIT the component was built from); jco's
 * glue still checks every value it lowers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { WardenError } from "../core/errors.js";
import { binaryKind } from "../sandbox/binary.js";
import { type Transpiled, transpileComponent } from "../sandbox/component/transpile.js";
import { PROVIDED_IMPORTS } from "./host.js";
import { unversioned } from "./host-seam.js";
import { checkCollisions, type HostedTool, toolOf } from "./tools.js";
import { MissingInterface, readComponentWit, type WitSourceFile } from "./wit/parse.js";

export interface LoadedComponent {
  /** The component's name: its file name without `.wasm`. */
  readonly name: string;
  readonly file: string;
  readonly sha256: string;
  readonly transpiled: Transpiled;
  readonly tools: readonly HostedTool[];
  /** The interfaces it imports (with versions). */
  readonly imports: readonly string[];
}

export interface LoadOptions {
  /** Where transpiled components are cached (default: the shared component cache). */
  cacheDir?: string;
}

function loadError(code: string, name: string, file: string, message: string, details = {}) {
  return new WardenError(code, `component "${name}" (${file}): ${message}`, {
    category: "plugin",
    details: { component: name, file, ...details },
  });
}

/** The `.wasm` files a path names: the file itself, or a folder's `.wasm` files (sorted). */
export function componentFiles(path: string): string[] {
  const abs = resolve(path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch (e) {
    throw new WardenError(
      "hosted_load_failed",
      `cannot read ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a component file or a folder of components`,
      { category: "config", details: { file: abs } },
    );
  }
  if (!st.isDirectory()) return [abs];
  const files = readdirSync(abs)
    .filter((f) => f.endsWith(".wasm"))
    .sort()
    .map((f) => join(abs, f));
  if (files.length === 0)
    throw new WardenError(
      "hosted_load_failed",
      `${abs} holds no .wasm file; put components there or name one`,
      { category: "config", details: { file: abs } },
    );
  return files;
}

function witFilesUnder(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) witFilesUnder(p, out);
    else if (e.name.endsWith(".wit")) out.push(p);
  }
}

/** The WIT source of a component: `<name>.wit` beside it, else a `wit/` folder beside it. */
export function witSources(file: string): WitSourceFile[] {
  const single = join(dirname(file), `${basename(file, ".wasm")}.wit`);
  const files: string[] = [];
  if (existsSync(single)) files.push(single);
  else {
    const dir = join(dirname(file), "wit");
    if (existsSync(dir) && statSync(dir).isDirectory()) witFilesUnder(dir, files);
  }
  return files.map((f) => ({ file: f, text: readFileSync(f, "utf8") }));
}

export async function loadComponent(
  path: string,
  opts: LoadOptions = {},
): Promise<LoadedComponent> {
  const file = resolve(path);
  const name = basename(file, ".wasm");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw loadError(
      "hosted_load_failed",
      name,
      file,
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (binaryKind(bytes) !== "component")
    throw loadError(
      "hosted_load_failed",
      name,
      file,
      "is not a WebAssembly component (WASI 0.2, component model); build it with componentize-js or wasm-tools component new (docs/hosted-tools.md)",
    );
  const transpiled = await transpileComponent(bytes, {
    name: "component",
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    invalid: (reason, cause) => {
      const e = loadError("hosted_load_failed", name, file, `jco cannot transpile it (${reason})`);
      (e as { cause?: unknown }).cause = cause;
      return e;
    },
  });
  const provided = new Set(PROVIDED_IMPORTS);
  const refused = transpiled.imports.filter((i) => !provided.has(unversioned(i)));
  if (refused.length > 0)
    throw loadError(
      "hosted_import_refused",
      name,
      file,
      `imports ${refused.join(", ")}, which Warden does not provide (it provides ${[...provided].join(", ")}); build the component without it (componentize-js: disableFeatures)`,
      { imports: refused },
    );
  // jco's own entry point re-exports this, but importing it loads jco's transpiler too, which
  // imports oxc-minify, a native module whose tokio runtime starts two threads that every
  // `warden serve` process then carried (the transpiler runs only when the cache misses).
  const { componentWit } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  const rootText = await componentWit(bytes);
  const sources = witSources(file);
  let doc: ReturnType<typeof readComponentWit>;
  try {
    doc = readComponentWit(rootText, sources);
  } catch (e) {
    if (e instanceof MissingInterface)
      throw loadError(
        "hosted_load_failed",
        name,
        file,
        `exports ${e.iface}, whose WIT Warden did not find: put ${name}.wit (or a wit/ folder) beside the component`,
        { interface: e.iface },
      );
    throw loadError(
      "hosted_load_failed",
      name,
      file,
      `cannot read its WIT: ${(e as Error).message}`,
    );
  }
  const tools = doc.exports.map((f) => toolOf(name, file, f));
  checkCollisions(tools.map((tool) => ({ tool, component: name, file })));
  return Object.freeze({
    name,
    file,
    sha256: transpiled.sha256,
    transpiled,
    tools: Object.freeze(tools),
    imports: transpiled.imports,
  });
}

/** Every component a path names, with the tool names checked across all of them. */
export async function loadComponents(
  path: string,
  opts: LoadOptions = {},
): Promise<LoadedComponent[]> {
  const out: LoadedComponent[] = [];
  for (const f of componentFiles(path)) out.push(await loadComponent(f, opts));
  checkCollisions(
    out.flatMap((c) => c.tools.map((tool) => ({ tool, component: c.name, file: c.file }))),
  );
  return out;
}
