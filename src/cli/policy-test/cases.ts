/**
 * Case files of `warden policy test`: found (files given, or walked in directories), read by
 * the `yaml` package (JSON is YAML, so both get positions), validated against
 * schemas/policy-test.schema.json, each problem located `file:line:col`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { LineCounter, type Node, parseDocument } from "yaml";
import { checkSchema, shippedValidator } from "../../policy/json-schema.js";
import { tooDeepYaml } from "../../policy/nesting.js";
import type { Path } from "../../policy/source.js";
import { nodeAt } from "../../policy/yaml-nodes.js";

/** A bad case file, said as `file:line:col code message`. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly code: string;
  readonly message: string;
}

export interface Case {
  readonly name: string;
  readonly action: Readonly<Record<string, unknown>>;
  readonly expect: "allow" | "deny";
  /** The key path that must decide; null: none may (default deny); undefined: not checked. */
  readonly rule?: string | null;
  readonly code?: string;
  /** Where the case starts, and where its action is (for a bad action). */
  readonly line: number;
  readonly col: number;
  readonly actionAt: { readonly line: number; readonly col: number };
  readonly ruleAt: { readonly line: number; readonly col: number };
}

export interface CaseFile {
  readonly file: string;
  /** The policy named by the file's `policy:` key, resolved from the file's directory. */
  readonly policy?: string;
  /** Where `policy:` is written (to locate a policy that cannot be read). */
  readonly policyAt?: { readonly line: number; readonly col: number };
  readonly cases: readonly Case[];
}

const EXTENSIONS = [".yaml", ".yml", ".json"];

/**
 * The case files named by `targets`: files as given, and in directories (recursively, in name
 * order) every `.yaml`, `.yml` and `.json` file, skipping dot entries and node_modules.
 */
export function findCaseFiles(targets: readonly string[]): {
  files: string[];
  problems: Problem[];
} {
  const files: string[] = [];
  const problems: Problem[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (EXTENSIONS.some((x) => e.name.endsWith(x))) files.push(p);
    }
  };
  for (const t of targets) {
    let isDir: boolean;
    try {
      isDir = statSync(t).isDirectory();
    } catch (e) {
      problems.push(
        fileProblem(
          t,
          `cannot read it (${(e as NodeJS.ErrnoException).code ?? e}): name a case file or a directory of them`,
        ),
      );
      continue;
    }
    if (!isDir) {
      files.push(t);
      continue;
    }
    const before = files.length;
    walk(t);
    if (files.length === before)
      problems.push(fileProblem(t, "the directory has no .yaml, .yml or .json case files"));
  }
  return { files: [...new Set(files)], problems };
}

function fileProblem(file: string, message: string): Problem {
  return { file, line: 1, col: 1, code: "policy_test_file", message };
}

/** Read and check one case file: its cases, or every problem found in it. */
export function readCaseFile(
  file: string,
): { ok: true; value: CaseFile } | { ok: false; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return { ok: false, problems: [fileProblem(file, `cannot read it (${code})`)] };
  }
  const deep = tooDeepYaml(text);
  if (deep !== undefined)
    return {
      ok: false,
      problems: [
        {
          file,
          line: deep.line,
          col: deep.col,
          code: "policy_test_syntax",
          message: `${deep.key} nests too deep: flatten it`,
        },
      ],
    };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0)
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          col: pos.col,
          code: "policy_test_syntax",
          message: `not valid YAML or JSON: ${e.message.split("\n")[0]}`,
        };
      }),
    };
  const root = doc.contents as Node | null;
  const at = (path: Path, key = false) => {
    const n = nodeAt(root, path, key);
    const pos = lines.linePos(n?.range?.[0] ?? 0);
    return { line: pos.line, col: pos.col };
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return {
      ok: false,
      problems: [
        { file, line: 1, col: 1, code: "policy_test_syntax", message: (e as Error).message },
      ],
    };
  }
  const problems = checkSchema(shippedValidator("policy-test"), value).map((p) => ({
    file,
    ...at(p.at, p.atKey),
    code: "policy_test_case",
    message: p.message.replace(/\.$/, ""),
  }));
  if (problems.length > 0) return { ok: false, problems };
  const v = value as { policy?: string; cases: Record<string, unknown>[] };
  const cases = v.cases.map((c, i): Case => {
    const out: {
      -readonly [K in keyof Case]: Case[K];
    } = {
      name: c.name as string,
      action: c.action as Record<string, unknown>,
      expect: c.expect as "allow" | "deny",
      ...at(["cases", i]),
      actionAt: at(["cases", i, "action"]),
      ruleAt: at(["cases", i, "rule"]),
    };
    if ("rule" in c) out.rule = c.rule as string | null;
    if (typeof c.code === "string") out.code = c.code;
    return out;
  });
  return {
    ok: true,
    value: {
      file,
      cases,
      ...(v.policy === undefined
        ? {}
        : {
            policy: isAbsolute(v.policy) ? v.policy : join(dirname(file), v.policy),
            policyAt: at(["policy"]),
          }),
    },
  };
}
