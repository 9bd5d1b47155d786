import {
  Composer,
  type CST,
  type Document,
  LineCounter,
  type Node,
  Parser,
  YAMLParseError,
} from "yaml";
import { indexJson } from "./json-index.js";
import { MAX_NESTING, tooDeepCst, tooDeepValue } from "./nesting.js";
import type { Positions } from "./positions.js";
import type { PolicyError } from "./types.js";
import { nodeAt } from "./yaml-nodes.js";

export type Path = readonly (string | number)[];

/** A dotted key for messages: `mcp.tools.allow[0].name`. */
export function keyOf(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(top level)" : out;
}

/**
 * A parsed policy source: its plain value and where each key and value sits (line:col), so
 * every compile error and every rule can name `file:line:col`.
 *
 * Which reader parses a source: `json` (JSON.parse and a position scan, for text that starts
 * with `{` and that JSON.parse takes) or `yaml` (the `yaml` package: every other text, and
 * every error). There is no third reader: a text the `yaml` package refuses is refused, and a
 * text it takes means what it says it means.
 */
export type SourceReader = "json" | "yaml";

/**
 * What the compiler reads a policy from: its value, and where each path sits. A
 * `PolicySource` is one; a translated source (a malwi policy read as Warden's, malwi/) is
 * another, whose paths point back into the file the user wrote.
 */
export interface SourceText {
  readonly file: string;
  readonly value: unknown;
  readonly errors: PolicyError[];
  pos(path: Path, key?: boolean): { line: number; col: number };
  where(path: Path): string;
  error(path: Path, code: string, message: string, key?: boolean): void;
  /** The id a rule at `path` is named by (default: `keyOf(path)`). */
  idOf?(path: Path): string;
}

export class PolicySource implements SourceText {
  readonly file: string;
  readonly value: unknown;
  readonly reader: SourceReader;
  readonly errors: PolicyError[] = [];
  readonly #counter = new LineCounter();
  #root: Node | null = null;
  /** For JSON sources: offsets of each parsed node (no YAML composer needed). */
  #positions: Positions | undefined;
  #lineStarts: number[] | undefined;

  readonly #text: string;

  constructor(text: string, file: string) {
    this.file = file;
    this.#text = text;
    let value = this.#fromJson(text);
    let reader: SourceReader = "json";
    if (value === undefined) {
      reader = "yaml";
      value = this.#fromYaml(text);
    }
    this.reader = reader;
    this.value = value;
  }

  #lines(text: string): number[] {
    const starts = [0];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    return starts;
  }

  /**
   * JSON is YAML, but JSON.parse plus one position scan is far faster than composing YAML.
   * Anything the scan does not take (a duplicate key, a syntax error) goes to the `yaml`
   * package, which refuses it with its position or reads it as the YAML it is.
   */
  #fromJson(text: string): unknown {
    if (!/^\s*\{/.test(text)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    // Too deep for the checks that recurse: the `yaml` reader below refuses it with its line.
    if (tooDeepValue(value)) return undefined;
    const index = indexJson(text, value);
    if (index === undefined) return undefined;
    this.#positions = index;
    this.#lineStarts = this.#lines(text);
    return value;
  }

  #fromYaml(text: string): unknown {
    const file = this.file;
    // `parseDocument`, in its two steps: the syntax tree (built without recursion) is measured
    // before the composer, which recurses once per level, reads it.
    const tokens: CST.Token[] = Array.from(new Parser(this.#counter.addNewLine).parse(text));
    const deep = tooDeepCst(tokens);
    if (deep !== undefined) {
      const pos = this.#counter.linePos(deep.offset);
      this.errors.push({
        file,
        line: pos.line,
        col: pos.col,
        code: "policy_too_deep",
        key: keyOf(deep.path),
        message: `${keyOf(deep.path.slice(0, 6))}${deep.path.length > 6 ? "…" : ""} nests deeper than ${MAX_NESTING} levels of mappings and sequences (the limit of a policy): flatten it`,
      });
      return null;
    }
    const composer = new Composer({ uniqueKeys: true, strict: true });
    let doc: Document.Parsed | undefined;
    for (const d of composer.compose(tokens, true, text.length)) {
      if (doc === undefined) doc = d;
      else {
        const at: [number, number] = [d.range[0], d.range[1]];
        doc.errors.push(
          new YAMLParseError(
            at,
            "MULTIPLE_DOCS",
            "Source contains multiple documents; please use YAML.parseAllDocuments()",
          ),
        );
        break;
      }
    }
    if (doc === undefined) return null;
    this.#root = (doc.contents as Node | null) ?? null;
    for (const e of doc.errors) {
      const pos = this.#counter.linePos(e.pos[0]);
      this.errors.push({
        file,
        line: pos.line,
        col: pos.col,
        code: "policy_syntax",
        key: "",
        message: e.message.split("\n")[0]!,
      });
    }
    let value: unknown = null;
    if (this.errors.length === 0) {
      try {
        value = doc.toJS({ maxAliasCount: 100 });
        // Aliases can nest a value deeper than the text it was written in.
        if (tooDeepValue(value)) {
          this.errors.push({
            file,
            line: 1,
            col: 1,
            code: "policy_too_deep",
            key: "",
            message: `the policy nests deeper than ${MAX_NESTING} levels of mappings and sequences once its aliases are expanded (the limit of a policy): flatten it`,
          });
          value = null;
        }
      } catch (e) {
        this.errors.push({
          file,
          line: 1,
          col: 1,
          code: "policy_syntax",
          key: "",
          message: e instanceof Error ? e.message : String(e),
        });
      }
    }
    return value;
  }

  #indexedPos(path: Path, key: boolean): { line: number; col: number } {
    const offset = this.#positions!.offset(this.value, path, key);
    const starts = this.#lineStarts!;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  }

  /** 1-based line and column of the value at `path` (or of its key). */
  pos(path: Path, key = false): { line: number; col: number } {
    if (this.#positions !== undefined) return this.#indexedPos(path, key);
    const node = nodeAt(this.#root, path, key);
    const offset = node?.range?.[0] ?? 0;
    return this.#counter.linePos(offset);
  }

  /**
   * The text a scalar at `path` was written as (`1`, `1.0`, `"1"`), or undefined: what tells
   * `version: 1` from `version: 1.0` once both are the number 1.
   */
  scalarText(path: Path): string | undefined {
    if (this.#positions !== undefined) {
      const at = this.#positions.offset(this.value, path, false);
      return /^(?:"(?:[^"\\]|\\.)*"|[-+0-9.eE]+|true|false|null)/.exec(this.#text.slice(at))?.[0];
    }
    const node = nodeAt(this.#root, path, false);
    const r = node?.range;
    if (r === undefined || r === null) return undefined;
    return this.#text.slice(r[0], r[1]).trim();
  }

  /** `file:line` of the value at `path`: how decisions name their rule. */
  where(path: Path): string {
    return `${this.file}:${this.pos(path).line}`;
  }

  error(path: Path, code: string, message: string, key = false): void {
    const { line, col } = this.pos(path, key);
    this.errors.push({ file: this.file, line, col, code, key: keyOf(path), message });
  }
}
