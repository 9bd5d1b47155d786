/**
 * Reading a rules file: the `yaml` package (or JSON.parse) through the policy's reader, which
 * locates every value; schemas/rules.schema.json through the same ajv machinery as the policy
 * (every problem file:line:col, with a did you mean); then what a schema cannot say, compiled
 * once: conditions (fields, operator values, RE2 patterns), CEL expressions (parse and type
 * errors located inside the expression), unique names. Nothing half-loaded: any problem and no
 * rules are returned.
 */
import { readFileSync } from "node:fs";
import { WardenError } from "../core/errors.js";
import { checkSchema, dropNulls, shippedValidator } from "../policy/json-schema.js";
import { keyOf, type Path, PolicySource } from "../policy/source.js";
import { compileCel } from "./cel.js";
import { celPosition } from "./cel-position.js";
import type { RulesCode } from "./codes.js";
import { allOf, type Condition, compileList } from "./conditions.js";
import { type CompiledRule, RuleSet } from "./engine.js";
import type { OnError, RuleAction, RulePlugins } from "./types.js";

/** One problem of a rules file. */
export interface RulesProblem {
  file: string;
  line: number;
  col: number;
  code: RulesCode;
  key: string;
  message: string;
}

export type RulesLoadResult = { ok: true; rules: RuleSet } | { ok: false; errors: RulesProblem[] };

export interface RulesLoadOptions {
  plugins?: RulePlugins;
}

type Obj = Record<string, unknown>;
type Problem = (
  path: Path,
  code: RulesCode,
  message: string,
  atKey?: boolean,
  at?: { line: number; col: number },
) => void;

/** Compile the rules in `text` (YAML or JSON), naming `file` in every problem and decision. */
export function parseRules(
  text: string,
  file: string,
  opts: RulesLoadOptions = {},
): RulesLoadResult {
  const src = new PolicySource(text, file);
  const errors: RulesProblem[] = src.errors.map((e) => ({
    file: e.file,
    line: e.line,
    col: e.col,
    code: "rules_syntax",
    key: e.key,
    message: e.message,
  }));
  if (errors.length > 0) return { ok: false, errors };
  function problem(
    path: Path,
    code: RulesCode,
    message: string,
    atKey = false,
    at?: { line: number; col: number },
  ): void {
    const { line, col } = at ?? src.pos(path, atKey);
    errors.push({ file, line, col, code, key: keyOf(path), message });
  }
  const value = dropNulls(src.value);
  const bad = new Set<number>();
  for (const p of checkSchema(shippedValidator("rules"), value)) {
    problem(p.at, "rules_schema", p.message, p.atKey);
    if (p.path[0] === "rules" && typeof p.path[1] === "number") bad.add(p.path[1]);
  }
  const list = (value as Obj | null)?.rules;
  const rules: { rule: CompiledRule; index: number }[] = [];
  if (Array.isArray(list)) {
    const lines = text.split("\n");
    const names = new Map<string, number>();
    list.forEach((raw, i) => {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return;
      const before = errors.length;
      const rule = compileRule(raw as Obj, ["rules", i], src, lines, problem);
      if (rule === undefined || errors.length > before || bad.has(i)) return;
      const prev = names.get(rule.name);
      if (prev !== undefined) {
        problem(
          ["rules", i, "name"],
          "rules_duplicate",
          `rule name "${rule.name}" is used twice (first at line ${prev}); give each rule its own name`,
        );
        return;
      }
      names.set(rule.name, src.pos(["rules", i]).line);
      rules.push({ rule, index: i });
    });
  }
  if (errors.length > 0) {
    errors.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors };
  }
  rules.sort((a, b) => a.rule.priority - b.rule.priority || a.index - b.index);
  return {
    ok: true,
    rules: new RuleSet(
      file,
      rules.map((r) => r.rule),
      opts.plugins,
    ),
  };
}

function compileRule(
  r: Obj,
  path: Path,
  src: PolicySource,
  lines: readonly string[],
  problem: Problem,
): CompiledRule | undefined {
  const report = (p: Path, m: string) => problem(p, "rules_condition", m);
  let conditions: Condition | undefined;
  if (r.conditions !== undefined) {
    const cpath = [...path, "conditions"];
    const list = compileList(r.conditions, cpath, report);
    if (list === undefined) return undefined;
    conditions = allOf(list, keyOf(cpath), "");
  }
  let cel: CompiledRule["cel"];
  if (typeof r.condition === "string") {
    const c = compileCel(r.condition);
    if ("message" in c) {
      // located at the character of the expression, not at the start of the scalar
      const at = celPosition(lines, src.pos([...path, "condition"]), c.start);
      problem([...path, "condition"], "rules_cel", `CEL: ${c.message}`, false, at);
      return undefined;
    }
    cel = c;
  }
  let source = r.source as CompiledRule["source"] | undefined;
  const wasm = typeof r.wasm_plugin === "string" ? r.wasm_plugin : undefined;
  source ??= wasm !== undefined ? "wasm_plugin" : cel !== undefined ? "cel" : "yaml";
  if (source === "wasm_plugin" && wasm === undefined) {
    problem(path, "rules_schema", "source: wasm_plugin needs wasm_plugin: the plugin's name");
    return undefined;
  }
  if (wasm !== undefined && source !== "wasm_plugin") {
    problem(
      [...path, "source"],
      "rules_schema",
      `wasm_plugin is given, so source must be wasm_plugin (not ${source})`,
    );
    return undefined;
  }
  if (r.wasm_function !== undefined && wasm === undefined) {
    problem(
      [...path, "wasm_function"],
      "rules_schema",
      "wasm_function goes with wasm_plugin",
      true,
    );
    return undefined;
  }
  if (source === "cel" && cel === undefined) {
    problem(path, "rules_schema", "source: cel needs condition: a CEL expression");
    return undefined;
  }
  if (source === "yaml" && conditions === undefined && cel === undefined) {
    problem(
      path,
      "rules_schema",
      `rule "${String(r.name)}" has no conditions, condition or wasm_plugin, so it would match every call; write conditions: [] to mean that`,
    );
    return undefined;
  }
  return Object.freeze({
    name: String(r.name),
    where: src.where(path),
    priority: typeof r.priority === "number" ? r.priority : 0,
    description: typeof r.description === "string" ? r.description : undefined,
    enabled: r.enabled !== false,
    source,
    action: r.action as RuleAction,
    onError: (r.on_error ?? "deny") as OnError,
    conditions,
    cel,
    plugin:
      wasm === undefined
        ? undefined
        : Object.freeze({
            name: wasm,
            fn: typeof r.wasm_function === "string" ? r.wasm_function : "evaluate",
          }),
  });
}

/** Read and compile a rules file; a file that cannot be read is a rules_invalid problem. */
export function loadRulesFile(path: string, opts: RulesLoadOptions = {}): RulesLoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return {
      ok: false,
      errors: [
        {
          file: path,
          line: 1,
          col: 1,
          code: "rules_invalid",
          key: "",
          message: `cannot read the rules file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`,
        },
      ],
    };
  }
  return parseRules(text, path, opts);
}

/** The problems as lines: `file:line:col code message`. */
export function formatRulesProblems(errors: readonly RulesProblem[]): string {
  return errors
    .map((e) => `${e.file}:${e.line}:${e.col} ${e.code} ${e.key}: ${e.message}`)
    .join("\n");
}

/** Load or throw a rules_invalid WardenError listing every problem (exit 2). */
export function loadRulesOrThrow(path: string, opts: RulesLoadOptions = {}): RuleSet {
  const r = loadRulesFile(path, opts);
  if (r.ok) return r.rules;
  throw new WardenError(
    "rules_invalid",
    `the rules file ${path} has ${r.errors.length} problem(s):\n${formatRulesProblems(r.errors)}`,
    { category: "config", details: { errors: r.errors } },
  );
}
