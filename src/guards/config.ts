import { dirname, isAbsolute, join, resolve } from "node:path";
import { isNode, LineCounter as LC, type LineCounter, type Node, parseDocument } from "yaml";
import { checkSchema, dropNulls, shippedValidator } from "../policy/json-schema.js";
import { MAX_NESTING, tooDeepYaml } from "../policy/nesting.js";
import { keyOf, type Path } from "../policy/source.js";
import { nodeAt } from "../policy/yaml-nodes.js";
import { BUILTIN_TYPES } from "./builtin/registry.js";
import type {
  FailureMode,
  GuardConfigIssue,
  GuardSpec,
  GuardsConfigResult,
} from "./config-types.js";
import { GUARD_PHASES, type GuardPhase } from "./types.js";

const MiB = 1024 * 1024;

/** Defaults when an entry leaves a key out (documented in docs/guards.md and the schema). */
export const GUARD_DEFAULTS = Object.freeze({
  priority: 100,
  failureMode: "fail_closed" as FailureMode,
  timeoutMs: 100,
  maxMemoryBytes: 64 * MiB,
  wasmRunsOn: ["tools_list"] as readonly GuardPhase[],
});

export interface ParseGuardsOptions {
  /** The LineCounter the YAML was parsed with (for file:line in errors). */
  lineCounter?: LineCounter;
  /** Relative module_path values resolve against this (default: the config file's folder). */
  baseDir?: string;
  /**
   * warden.yaml's `state.dir`, absolute, when it is written (rug_pull keeps its pins there;
   * without it, in the default state directory: core's `defaultStateDir`).
   */
  stateDir?: string;
}

type Entry = Record<string, unknown>;
/** A problem at `path` (its key, with `atKey`); `name` overrides the key named in the issue. */
type Report = (path: Path, message: string, atKey?: boolean, name?: string) => void;

/**
 * Validate the `security_guards` list of warden.yaml once: against schemas/guards.schema.json
 * (the schema editors read), then what a schema cannot say (a built-in's phases and config,
 * module_path per type, unique ids). `node` is the parsed YAML node of the key's value (with
 * positions) or plain data; `file` names the config file in messages. Returns frozen guard
 * specs sorted by priority (file order on ties), and every problem found. Nothing is loaded
 * here: module files are read by `loadGuards`.
 */
export function parseGuardsConfig(
  node: unknown,
  file: string,
  opts: ParseGuardsOptions = {},
): GuardsConfigResult {
  const issues: GuardConfigIssue[] = [];
  const warnings: GuardConfigIssue[] = [];
  const baseDir = opts.baseDir ?? resolve(file, "..");
  const lc = opts.lineCounter;
  const root = isNode(node) ? node : null;
  const locate = (path: Path, atKey: boolean) => {
    const at = root === null || lc === undefined ? null : nodeAt(root, path.slice(1), atKey);
    return at?.range ? lc!.linePos(at.range[0]) : { line: 1, col: 0 };
  };
  const report: Report = (path, message, atKey = false, name = keyOf(path)) => {
    // One problem per key: the schema's, when a check in code would say it again.
    if (issues.some((i) => i.key === name)) return;
    const pos = locate(path, atKey);
    issues.push({
      file,
      line: pos.line,
      col: pos.col,
      code: "guard_config_invalid",
      key: name,
      message,
    });
  };
  const warn = (path: Path, message: string) => {
    const pos = locate(path, true);
    const code = "deprecated_key";
    warnings.push({ file, line: pos.line, col: pos.col, code, key: keyOf(path), message });
  };
  const value = dropNulls(isNode(node) ? node.toJSON() : node);
  const guards: GuardSpec[] = [];
  if (value === null || value === undefined) return freeze(guards, issues, warnings);
  const bad = new Set<number>();
  for (const p of checkSchema(shippedValidator("guards"), value, ["security_guards"])) {
    report(p.at, p.message, p.atKey, keyOf(p.path));
    if (typeof p.path[1] === "number") bad.add(p.path[1]);
  }
  if (!Array.isArray(value)) return freeze(guards, issues, warnings);
  const ids = new Map<string, number>();
  value.forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return;
    const path: Path = ["security_guards", i];
    const before = issues.length;
    const spec = buildEntry(raw as Entry, path, file, baseDir, report, lineOf(root, lc, i));
    pinsFile(raw as Entry, path, baseDir, opts.stateDir, report, warn);
    if (spec === undefined || issues.length > before || bad.has(i)) return;
    const prev = ids.get(spec.id);
    if (prev !== undefined) {
      report(
        [...path, "id"],
        `guard id "${spec.id}" is used twice (first at line ${prev}); give each guard its own id.`,
      );
      return;
    }
    ids.set(spec.id, spec.source.line);
    guards.push(spec);
  });
  // Stable sort: lower priority first, file order on ties.
  guards.sort((a, b) => a.priority - b.priority);
  const stateDir = opts.stateDir;
  const out =
    stateDir === undefined ? guards : guards.map((g) => Object.freeze({ ...g, stateDir }));
  return freeze(out, issues, warnings);
}

/**
 * rug_pull's `config.pins_file` is deprecated: the pins live in `<state.dir>/pins.json`. It
 * still works (with a warning naming state.dir); next to a state.dir that puts the pins
 * elsewhere it is refused.
 */
function pinsFile(
  e: Entry,
  path: Path,
  baseDir: string,
  stateDir: string | undefined,
  report: Report,
  warn: (path: Path, message: string) => void,
): void {
  const cfg = e.config as Record<string, unknown> | undefined;
  const f = e.type === "rug_pull" && typeof cfg === "object" ? cfg?.pins_file : undefined;
  if (typeof f !== "string") return;
  const at = [...path, "config", "pins_file"];
  const given = resolve(baseDir, f);
  if (stateDir !== undefined && given !== join(stateDir, "pins.json"))
    report(
      at,
      `config.pins_file (${given}) and state.dir (pins in ${join(stateDir, "pins.json")}) name two pins files: delete pins_file and keep state.dir, whose pins.json is where the pins go.`,
      true,
    );
  else
    warn(
      at,
      `config.pins_file is deprecated: the pins live in <state.dir>/pins.json; write state: { dir: ${JSON.stringify(dirname(f))} } at the top of warden.yaml (with pins.json as the file name) and delete pins_file.`,
    );
}

function lineOf(root: Node | null, lc: LineCounter | undefined, i: number): number {
  const n = root === null ? null : nodeAt(root, [i]);
  return n?.range && lc ? lc.linePos(n.range[0]).line : 1;
}

function freeze(
  guards: GuardSpec[],
  issues: GuardConfigIssue[],
  warnings: GuardConfigIssue[] = [],
): GuardsConfigResult {
  const byKey = (a: GuardConfigIssue, b: GuardConfigIssue) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  issues.sort((a, b) => a.line - b.line || a.col - b.col || byKey(a, b));
  return Object.freeze({
    guards: Object.freeze(guards),
    issues: Object.freeze(issues),
    warnings: Object.freeze(warnings),
  });
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
const int = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) ? v : undefined);

/** What the schema cannot say about one entry, then its frozen spec (undefined when unusable). */
function buildEntry(
  e: Entry,
  path: Path,
  file: string,
  baseDir: string,
  report: Report,
  line: number,
): GuardSpec | undefined {
  const id = str(e.id);
  const type = str(e.type);
  const builtin = type === undefined ? undefined : BUILTIN_TYPES[type];
  let runsOn: GuardPhase[] | undefined;
  if (Array.isArray(e.runs_on)) {
    runsOn = [];
    e.runs_on.forEach((p, i) => {
      if (!(GUARD_PHASES as readonly unknown[]).includes(p)) return; // the schema said so
      if (builtin !== undefined && !builtin.phases.includes(p as GuardPhase))
        report(
          [...path, "runs_on", i],
          `this guard type does not judge ${p}; it judges: ${builtin.phases.join(", ")}.`,
        );
      else if (!runsOn!.includes(p as GuardPhase)) runsOn!.push(p as GuardPhase);
    });
  }
  const mp = str(e.module_path);
  if (type === "wasm" && e.module_path === undefined)
    report([...path, "module_path"], "a wasm guard needs module_path: the .wasm file to load.");
  if (builtin !== undefined && e.module_path !== undefined)
    report(
      [...path, "module_path"],
      `module_path is for type: wasm; the built-in ${type} guard has no module.`,
    );
  const config =
    typeof e.config === "object" && e.config !== null && !Array.isArray(e.config)
      ? (e.config as Record<string, unknown>)
      : undefined;
  if (builtin?.checkConfig !== undefined && (config !== undefined || e.config === undefined))
    builtin.checkConfig(config ?? {}, (key, message) =>
      report(
        [...path, "config", key.split(".")[0]!],
        message,
        false,
        `${keyOf(path)}.config.${key}`,
      ),
    );
  if (id === undefined || type === undefined) return undefined;
  const limits = (typeof e.limits === "object" && e.limits !== null ? e.limits : {}) as Entry;
  return Object.freeze({
    id,
    type,
    enabled: e.enabled !== false,
    priority: int(e.priority) ?? GUARD_DEFAULTS.priority,
    failureMode: e.failure_mode === "fail_open" ? "fail_open" : GUARD_DEFAULTS.failureMode,
    timeoutMs: int(e.timeout_ms) ?? GUARD_DEFAULTS.timeoutMs,
    runsOn: Object.freeze(runsOn ?? [...(builtin?.defaultRunsOn ?? GUARD_DEFAULTS.wasmRunsOn)]),
    modulePath: mp === undefined ? undefined : isAbsolute(mp) ? mp : resolve(baseDir, mp),
    config: Object.freeze(config ?? {}),
    limits: Object.freeze({
      maxMemoryBytes: int(limits.max_memory_bytes) ?? GUARD_DEFAULTS.maxMemoryBytes,
      maxExecutionTimeMs: int(limits.max_execution_time_ms),
      maxFuel: int(limits.max_fuel),
    }),
    source: Object.freeze({ file, line }),
  });
}

/**
 * Parse a standalone YAML text (a whole warden.yaml, or just a list) and validate its
 * `security_guards`. For the CLI and tests; the gateway calls `parseGuardsConfig` on its own
 * parsed document.
 */
export function parseGuardsYaml(text: string, file: string, baseDir?: string): GuardsConfigResult {
  // The composer recurses once per level: a text nested too deep is refused before it runs.
  const deep = tooDeepYaml(text);
  if (deep !== undefined)
    return Object.freeze({
      guards: Object.freeze([]),
      issues: Object.freeze([
        {
          file,
          line: deep.line,
          col: deep.col,
          code: "guard_config_invalid",
          key: deep.key,
          message: `nests deeper than ${MAX_NESTING} levels of mappings and sequences (the limit of a config): flatten it`,
        },
      ]),
    });
  const lineCounter = new LC();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lineCounter.linePos(e.pos[0]);
    return Object.freeze({
      guards: Object.freeze([]),
      issues: Object.freeze([
        {
          file,
          line: p.line,
          col: p.col,
          code: "guard_config_invalid",
          key: "",
          message: `not valid YAML: ${e.message.split("\n")[0]}`,
        },
      ]),
    });
  }
  const contents = doc.contents;
  const node =
    contents !== null &&
    typeof contents === "object" &&
    "get" in contents &&
    !Array.isArray(doc.toJSON())
      ? (contents as { get(k: string, keep: true): unknown }).get("security_guards", true)
      : contents;
  const dir = doc.getIn(["state", "dir"]);
  const stateDir =
    typeof dir === "string" && dir !== ""
      ? resolve(baseDir ?? resolve(file, ".."), dir)
      : undefined;
  return parseGuardsConfig(node ?? null, file, {
    lineCounter,
    ...(baseDir ? { baseDir } : {}),
    ...(stateDir ? { stateDir } : {}),
  });
}

/** Format issues as `file:line:col key: message` lines (the CLI's and the gateway's form). */
export function formatGuardIssues(issues: readonly GuardConfigIssue[]): string {
  return issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.key}: ${i.message}`).join("\n");
}
