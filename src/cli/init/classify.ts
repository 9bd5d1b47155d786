/**
 * What `warden init` proposes for each discovered tool, prompt and resource, under the names
 * the gateway will expose (`src/mcp/naming.ts`): tools the server annotates read-only are
 * allowed, destructive ones denied, the rest left for the user; path arguments are held to the
 * directories the server was given.
 *
 * Annotations are the server's own claims (MCP says so too): they decide what is proposed, and
 * the written policy says they were trusted.
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Prompt, Resource, Tool } from "@modelcontextprotocol/sdk/types.js";
import { WardenError } from "../../core/errors.js";
import { canonicalizeName } from "../../policy/index.js";
import type { Discovered } from "./discover.js";
import type { UpstreamSpec } from "./spec.js";

export type Verdict = "allow" | "deny" | "decide" | "refused";

export interface ToolPlan {
  readonly name: string;
  /** The name as a policy pattern: glob characters escaped (`[*]`). */
  readonly pattern: string;
  readonly description: string;
  readonly verdict: Verdict;
  /** Why, in a few words ("read-only", "destructive", "no annotations", a refusal). */
  readonly why: string;
  /** Argument constraints (policy `parameters`), when it has path arguments and dirs are known. */
  readonly parameters: Readonly<Record<string, unknown>> | undefined;
  /** Path arguments that could not be constrained (the server was given no directory). */
  readonly unconstrained: readonly string[];
}

export interface UpstreamPlan {
  readonly found: Discovered;
  readonly name: string;
  readonly prefix: boolean;
  /** Real paths of the directories the server was given (its arguments that are directories). */
  readonly directories: readonly string[];
  readonly tools: readonly ToolPlan[];
  readonly prompts: readonly { name: string; pattern: string; description: string }[];
  readonly resources: readonly { uri: string; description: string }[];
}

const GLOB = /[*?[\]{}]/g;

/** A name glob that matches exactly `name` (each glob character as a one-character class). */
export function escapeName(name: string): string {
  return name.replace(GLOB, (c) => `[${c}]`);
}

/** One line of at most `max` characters, no control characters: safe as a YAML comment. */
export function oneLine(text: string | undefined, max = 120): string {
  const s = (text ?? "")
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The directories a command upstream was given: its arguments (and the values of
 * `--option=value`) that name existing directories, relative to its cwd, as real paths.
 */
export function directoriesOf(spec: UpstreamSpec): string[] {
  if (spec.kind !== "stdio") return [];
  const out: string[] = [];
  for (const arg of spec.args) {
    let value = arg;
    if (arg.startsWith("-")) {
      const eq = arg.indexOf("=");
      if (eq < 0) continue;
      value = arg.slice(eq + 1);
    }
    if (value === "") continue;
    const p = isAbsolute(value) ? value : resolve(spec.cwd, value);
    let dir: string;
    try {
      if (!statSync(p).isDirectory()) continue;
      dir = realpathSync.native(p);
    } catch {
      continue;
    }
    if (/[*?[\]{}\\]/.test(dir))
      throw new WardenError(
        "init_input_invalid",
        `upstream "${spec.name}": its directory "${dir}" contains a glob character or a backslash, so warden init cannot write a path rule for it; rename the directory, or write the policy's path rules by hand`,
        { category: "usage", details: { upstream: spec.name } },
      );
    if (!out.includes(dir)) out.push(dir);
  }
  return out;
}

/** Words of a property name: `filePath` and `file_path` are both [file, path]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
}

const PATH_WORDS = new Set([
  "path",
  "paths",
  "pathname",
  "file",
  "files",
  "filename",
  "filenames",
  "filepath",
  "filepaths",
  "dir",
  "dirs",
  "directory",
  "directories",
  "folder",
  "folders",
]);
const PATH_NAMES = new Set(["source", "sources", "destination", "destinations", "src", "dest"]);
const URI_FORMATS = new Set(["uri", "uri-reference", "iri", "iri-reference"]);

type Schema = { type?: unknown; format?: unknown; items?: unknown };

const hasType = (s: Schema, t: string) =>
  s.type === t || (Array.isArray(s.type) && s.type.includes(t));

/** A path-like argument: "string" (one path) or "array" (a list of paths), else undefined. */
export function pathKind(name: string, schema: unknown): "string" | "array" | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  const s = schema as Schema;
  const w = words(name);
  const named = PATH_NAMES.has(w.join("_")) || PATH_WORDS.has(w.at(-1) ?? "");
  const uri = (x: Schema) => typeof x.format === "string" && URI_FORMATS.has(x.format);
  if (hasType(s, "string") && (named || uri(s))) return "string";
  if (hasType(s, "array") && typeof s.items === "object" && s.items !== null) {
    const items = s.items as Schema;
    if (hasType(items, "string") && (named || uri(items))) return "array";
  }
  return undefined;
}

/** The policy's path constraint for one argument (a string is short for `{ path: glob }`). */
function constraint(kind: "string" | "array", dirs: readonly string[]): unknown {
  const globs = dirs.map((d) => (d === "/" ? "/**" : `${d}/**`));
  const one = globs.length === 1 ? globs[0] : { path: globs };
  return kind === "string" ? one : { items: one };
}

function verdictOf(tool: Tool): { verdict: Verdict; why: string } {
  const a = tool.annotations ?? {};
  if (a.readOnlyHint === true && a.destructiveHint === true)
    return { verdict: "decide", why: "its annotations say both read-only and destructive" };
  if (a.readOnlyHint === true) return { verdict: "allow", why: "read-only (readOnlyHint)" };
  if (a.destructiveHint === true) return { verdict: "deny", why: "destructive (destructiveHint)" };
  if (tool.annotations === undefined) return { verdict: "decide", why: "no annotations" };
  return { verdict: "decide", why: "neither read-only nor destructive" };
}

function planTool(tool: Tool, publicName: string, dirs: readonly string[]): ToolPlan {
  const description = oneLine(tool.description);
  const canon = canonicalizeName(publicName);
  if (!canon.ok)
    return {
      name: publicName,
      pattern: publicName,
      description,
      verdict: "refused",
      why: `the policy refuses its name (${canon.reason}); the gateway will deny it`,
      parameters: undefined,
      unconstrained: [],
    };
  const { verdict, why } = verdictOf(tool);
  const props = (tool.inputSchema.properties ?? {}) as Record<string, unknown>;
  const parameters: Record<string, unknown> = {};
  const unconstrained: string[] = [];
  if (verdict !== "deny")
    for (const [arg, schema] of Object.entries(props)) {
      const kind = pathKind(arg, schema);
      if (kind === undefined) continue;
      if (dirs.length === 0) unconstrained.push(arg);
      else parameters[arg] = constraint(kind, dirs);
    }
  return {
    name: publicName,
    pattern: escapeName(publicName),
    description,
    verdict,
    why,
    parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
    unconstrained,
  };
}

/** The plan for each upstream; `prefix` as the gateway will apply it (several: true). */
export function classify(found: readonly Discovered[]): UpstreamPlan[] {
  const prefix = found.length > 1;
  return found.map((d) => {
    const name = d.spec.name;
    const tool = (n: string) => (prefix ? `${name}__${n}` : n);
    const dirs = directoriesOf(d.spec);
    return {
      found: d,
      name,
      prefix,
      directories: dirs,
      tools: d.tools.map((t) => planTool(t, tool(t.name), dirs)),
      prompts: d.prompts.map((p: Prompt) => ({
        name: tool(p.name),
        pattern: escapeName(tool(p.name)),
        description: oneLine(p.description),
      })),
      resources: d.resources.map((r: Resource) => ({
        uri: prefix ? `${name}+${r.uri}` : r.uri,
        description: oneLine(r.description ?? r.name),
      })),
    };
  });
}
