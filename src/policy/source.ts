import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { indexJson } from "./json-index.js";
import type { Positions } from "./positions.js";
import type { PolicyError } from "./types.js";
import { readYamlLite } from "./yaml-lite.js";

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
 */
/**
 * Which reader parsed a source: `json` (JSON.parse and a position scan), `lite` (the small
 * YAML reader in yaml-lite.ts) or `yaml` (the yaml package: everything else, and every error).
 */
export type SourceReader = "json" | "lite" | "yaml";

export class PolicySource {
  readonly file: string;
  readonly value: unknown;
  readonly reader: SourceReader;
  readonly errors: PolicyError[] = [];
  readonly #counter = new LineCounter();
  #root: Node | null = null;
  /** For JSON and lite sources: offsets of each parsed node (no YAML composer needed). */
  #positions: Positions | undefined;
  #lineStarts: number[] | undefined;

  /** `only`: use this reader alone (tests compare the readers); by default the fastest that can. */
  constructor(text: string, file: string, only?: SourceReader) {
    this.file = file;
    let value: unknown;
    let reader: SourceReader = "json";
    if (only === undefined || only === "json") value = this.#fromJson(text);
    if (value === undefined && (only === undefined || only === "lite")) {
      reader = "lite";
      value = this.#fromLite(text);
    }
    if (value === undefined && only !== "json" && only !== "lite") {
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

  /** The common YAML subset, read without the yaml package (which is most of compile time). */
  #fromLite(text: string): unknown {
    const r = readYamlLite(text);
    if (r === undefined) return undefined;
    this.#positions = r.positions;
    this.#lineStarts = this.#lines(text);
    return r.value;
  }

  /** JSON is YAML, but JSON.parse plus one position scan is far faster than composing YAML. */
  #fromJson(text: string): unknown {
    if (!/^\s*\{/.test(text)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    const index = indexJson(text, value);
    if (index === undefined) return undefined;
    this.#positions = index;
    this.#lineStarts = this.#lines(text);
    return value;
  }

  #fromYaml(text: string): unknown {
    const file = this.file;
    const doc = parseDocument(text, {
      lineCounter: this.#counter,
      prettyErrors: false,
      uniqueKeys: true,
      strict: true,
    });
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

  /** The node at `path` (a value), or the pair's key node when `key` is true. */
  #node(path: Path, key: boolean): Node | null {
    let node: Node | null = this.#root;
    for (let i = 0; i < path.length; i++) {
      const p = path[i]!;
      if (node === null) return null;
      if (isMap(node)) {
        const pair = node.items.find(
          (it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(p),
        );
        if (pair === undefined) return node;
        if (key && i === path.length - 1) return pair.key as Node;
        node = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (isSeq(node) && typeof p === "number") {
        const item = node.items[p] as Node | undefined;
        if (item === undefined) return node;
        node = item;
      } else {
        return node;
      }
    }
    return node;
  }

  /** 1-based line and column of the value at `path` (or of its key). */
  pos(path: Path, key = false): { line: number; col: number } {
    if (this.#positions !== undefined) return this.#indexedPos(path, key);
    const node = this.#node(path, key);
    const offset = node?.range?.[0] ?? 0;
    return this.#counter.linePos(offset);
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
