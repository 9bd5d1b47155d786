import { isAbsolute, resolve } from "node:path";
import { LineCounter as LC, type LineCounter, parseDocument } from "yaml";
import { didYouMean } from "../policy/schema.js";
import { BUILTIN_TYPES } from "./builtin/registry.js";
import type {
  FailureMode,
  GuardConfigIssue,
  GuardLimits,
  GuardSpec,
  GuardsConfigResult,
} from "./config-types.js";
import { GUARD_PHASES, type GuardPhase } from "./types.js";
import { type Located, locate } from "./yaml-at.js";

const ENTRY_KEYS = new Set([
  "id",
  "type",
  "enabled",
  "priority",
  "failure_mode",
  "timeout_ms",
  "runs_on",
  "module_path",
  "config",
  "limits",
]);
const LIMIT_KEYS = new Set(["max_memory_bytes", "max_execution_time_ms", "max_fuel"]);
const ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const MiB = 1024 * 1024;

/** Defaults when an entry leaves a key out (documented in docs/guards.md). */
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
}

/**
 * Validate the `security_guards` list of warden.yaml once. `node` is the parsed YAML node of
 * the key's value (with positions) or plain data; `file` names the config file in messages.
 * Returns frozen guard specs sorted by priority (file order on ties), and every problem found.
 * Nothing is loaded here: module files are read by `createGuardPipeline`.
 */
export function parseGuardsConfig(
  node: unknown,
  file: string,
  opts: ParseGuardsOptions = {},
): GuardsConfigResult {
  const issues: GuardConfigIssue[] = [];
  const baseDir = opts.baseDir ?? resolve(file, "..");
  const root = locate(node, opts.lineCounter, 1);
  const report = (at: Located, key: string, message: string) =>
    issues.push({ file, line: at.line, col: at.col, code: "guard_config_invalid", key, message });
  const guards: GuardSpec[] = [];
  if (root.value === null || root.value === undefined) return freeze(guards, issues);
  const n = root.length();
  if (n < 0) {
    report(
      root,
      "security_guards",
      "security_guards must be a list of guard entries (`- id: ...`).",
    );
    return freeze(guards, issues);
  }
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const entry = root.child(i)!;
    const spec = parseEntry(entry, `security_guards[${i}]`, file, baseDir, report);
    if (spec === undefined) continue;
    const prev = ids.get(spec.id);
    if (prev !== undefined) {
      report(
        entry.child("id") ?? entry,
        `security_guards[${i}].id`,
        `guard id "${spec.id}" is used twice (first at line ${prev}); give each guard its own id.`,
      );
      continue;
    }
    ids.set(spec.id, entry.line);
    guards.push(spec);
  }
  // Stable sort: lower priority first, file order on ties.
  guards.sort((a, b) => a.priority - b.priority);
  return freeze(guards, issues);
}

function freeze(guards: GuardSpec[], issues: GuardConfigIssue[]): GuardsConfigResult {
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  return Object.freeze({ guards: Object.freeze(guards), issues: Object.freeze(issues) });
}

type Report = (at: Located, key: string, message: string) => void;

function parseEntry(
  entry: Located,
  path: string,
  file: string,
  baseDir: string,
  outer: Report,
): GuardSpec | undefined {
  let bad = 0;
  const report: Report = (at, key, message) => {
    bad++;
    outer(at, key, message);
  };
  const raw = entry.value;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    report(entry, path, `${path} must be a map with at least \`id\` and \`type\`.`);
    return undefined;
  }
  for (const k of entry.keys()) {
    if (!ENTRY_KEYS.has(k))
      report(
        entry.keyAt(k) ?? entry,
        `${path}.${k}`,
        `unknown key "${k}" in a guard entry${didYouMean(k, ENTRY_KEYS)}; known keys: ${[...ENTRY_KEYS].join(", ")}.`,
      );
  }
  const get = (k: string) => entry.child(k);
  const id = str(get("id"), `${path}.id`, report, true, entry);
  if (id !== undefined && !ID_RE.test(id))
    report(get("id")!, `${path}.id`, `id "${id}" must be 1 to 128 of [A-Za-z0-9._-].`);
  const type = str(get("type"), `${path}.type`, report, true, entry);
  const builtin = type === undefined ? undefined : BUILTIN_TYPES[type];
  if (type !== undefined && type !== "wasm" && builtin === undefined)
    report(
      get("type")!,
      `${path}.type`,
      `unknown guard type "${type}"${didYouMean(String(type), ["wasm", ...Object.keys(BUILTIN_TYPES)])}; use wasm or a built-in: ${Object.keys(BUILTIN_TYPES).join(", ")}.`,
    );
  const enabled = bool(get("enabled"), `${path}.enabled`, report) ?? true;
  const priority =
    int(get("priority"), `${path}.priority`, report, -1_000_000, 1_000_000) ??
    GUARD_DEFAULTS.priority;
  let failureMode = GUARD_DEFAULTS.failureMode;
  const fm = str(get("failure_mode"), `${path}.failure_mode`, report, false);
  if (fm !== undefined) {
    if (fm === "fail_closed" || fm === "fail_open") failureMode = fm;
    else
      report(
        get("failure_mode")!,
        `${path}.failure_mode`,
        `failure_mode must be fail_closed (the default) or fail_open, not "${fm}".`,
      );
  }
  const timeoutMs =
    int(get("timeout_ms"), `${path}.timeout_ms`, report, 1, 30_000) ?? GUARD_DEFAULTS.timeoutMs;
  const runsOn = phases(get("runs_on"), `${path}.runs_on`, report, builtin?.phases);
  const mp = str(get("module_path"), `${path}.module_path`, report, false);
  if (type === "wasm" && mp === undefined && get("module_path") === undefined)
    report(entry, `${path}.module_path`, `a wasm guard needs module_path: the .wasm file to load.`);
  if (builtin !== undefined && get("module_path") !== undefined)
    report(
      get("module_path")!,
      `${path}.module_path`,
      `module_path is for type: wasm; the built-in ${type} guard has no module.`,
    );
  const modulePath = mp === undefined ? undefined : isAbsolute(mp) ? mp : resolve(baseDir, mp);
  const config = configMap(get("config"), `${path}.config`, report);
  if (builtin !== undefined && (config !== undefined || get("config") === undefined)) {
    const cfgAt = get("config") ?? entry;
    builtin.checkConfig(config ?? {}, (key, message) =>
      report(cfgAt.child(key.split(".")[0]!) ?? cfgAt, `${path}.config.${key}`, message),
    );
  }
  const limits = parseLimits(get("limits"), `${path}.limits`, report);
  if (bad > 0 || id === undefined || type === undefined) return undefined;
  return Object.freeze({
    id,
    type,
    enabled,
    priority,
    failureMode,
    timeoutMs,
    runsOn: Object.freeze(runsOn ?? [...(builtin?.defaultRunsOn ?? GUARD_DEFAULTS.wasmRunsOn)]),
    modulePath,
    config: Object.freeze(config ?? {}),
    limits,
    source: Object.freeze({ file, line: entry.line }),
  });
}

function str(
  at: Located | undefined,
  key: string,
  report: Report,
  required: boolean,
  parent?: Located,
) {
  if (at === undefined || at.value === null) {
    if (required) report(at ?? parent!, key, `${key} is required.`);
    return undefined;
  }
  if (typeof at.value !== "string" || at.value.length === 0) {
    report(at, key, `${key} must be a non-empty string.`);
    return undefined;
  }
  return at.value;
}

function bool(at: Located | undefined, key: string, report: Report): boolean | undefined {
  if (at === undefined) return undefined;
  if (typeof at.value !== "boolean") {
    report(at, key, `${key} must be true or false.`);
    return undefined;
  }
  return at.value;
}

function int(at: Located | undefined, key: string, report: Report, min: number, max: number) {
  if (at === undefined) return undefined;
  const v = at.value;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    report(at, key, `${key} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}.`);
    return undefined;
  }
  return v;
}

function phases(
  at: Located | undefined,
  key: string,
  report: Report,
  allowed: readonly GuardPhase[] | undefined,
): GuardPhase[] | undefined {
  if (at === undefined) return undefined;
  const v = at.value;
  if (!Array.isArray(v) || v.length === 0) {
    report(at, key, `${key} must be a non-empty list of: ${GUARD_PHASES.join(", ")}.`);
    return undefined;
  }
  const out: GuardPhase[] = [];
  v.forEach((p, i) => {
    const pAt = at.child(i) ?? at;
    if (!(GUARD_PHASES as readonly unknown[]).includes(p)) {
      report(
        pAt,
        `${key}[${i}]`,
        `unknown phase ${JSON.stringify(p)}; phases: ${GUARD_PHASES.join(", ")}.`,
      );
    } else if (allowed !== undefined && !allowed.includes(p as GuardPhase)) {
      report(
        pAt,
        `${key}[${i}]`,
        `this guard type does not judge ${p}; it judges: ${allowed.join(", ")}.`,
      );
    } else if (!out.includes(p as GuardPhase)) out.push(p as GuardPhase);
  });
  return out;
}

function configMap(at: Located | undefined, key: string, report: Report) {
  if (at === undefined || at.value === null) return undefined;
  const v = at.value;
  if (typeof v !== "object" || Array.isArray(v)) {
    report(at, key, `${key} must be a map of settings.`);
    return undefined;
  }
  return v as Record<string, unknown>;
}

function parseLimits(at: Located | undefined, key: string, report: Report): GuardLimits {
  const d: GuardLimits = {
    maxMemoryBytes: GUARD_DEFAULTS.maxMemoryBytes,
    maxExecutionTimeMs: undefined,
    maxFuel: undefined,
  };
  if (at === undefined || at.value === null) return Object.freeze(d);
  if (typeof at.value !== "object" || Array.isArray(at.value)) {
    report(at, key, `${key} must be a map (max_memory_bytes, max_execution_time_ms, max_fuel).`);
    return Object.freeze(d);
  }
  for (const k of at.keys())
    if (!LIMIT_KEYS.has(k))
      report(
        at.keyAt(k) ?? at,
        `${key}.${k}`,
        `unknown limit "${k}"${didYouMean(k, LIMIT_KEYS)}; limits: ${[...LIMIT_KEYS].join(", ")}.`,
      );
  const mem = int(
    at.child("max_memory_bytes"),
    `${key}.max_memory_bytes`,
    report,
    65_536,
    256 * MiB,
  );
  const time = int(
    at.child("max_execution_time_ms"),
    `${key}.max_execution_time_ms`,
    report,
    1,
    30_000,
  );
  const fuel = int(at.child("max_fuel"), `${key}.max_fuel`, report, 1, Number.MAX_SAFE_INTEGER);
  return Object.freeze({
    maxMemoryBytes: mem ?? d.maxMemoryBytes,
    maxExecutionTimeMs: time,
    maxFuel: fuel,
  });
}

/**
 * Parse a standalone YAML text (a whole warden.yaml, or just a list) and validate its
 * `security_guards`. For the CLI and tests; the gateway calls `parseGuardsConfig` on its own
 * parsed document.
 */
export function parseGuardsYaml(text: string, file: string, baseDir?: string): GuardsConfigResult {
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
  return parseGuardsConfig(node ?? null, file, { lineCounter, ...(baseDir ? { baseDir } : {}) });
}

/** Format issues as `file:line:col key: message` lines (the CLI's and the gateway's form). */
export function formatGuardIssues(issues: readonly GuardConfigIssue[]): string {
  return issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.key}: ${i.message}`).join("\n");
}
