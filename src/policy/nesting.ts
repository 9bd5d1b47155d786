/**
 * The nesting bound of policy sources. The `yaml` composer, ajv and the compilers recurse once
 * per level, so a deeply nested file (`[[[[…]]]]` 100,000 times, or 3,000 levels of `items`)
 * would end in a stack overflow whose depth depends on the engine, not in a policy error. The
 * `yaml` parser builds its syntax tree without recursion: it is measured here, before anything
 * recurses, and a source deeper than `MAX_NESTING` is refused with its line, key and the limit.
 */
import { type CST, LineCounter, Parser } from "yaml";

/**
 * Deepest nesting of mappings and sequences a policy may have. The deepest legitimate policy
 * (`permissions.mcp.tools.allow[0].parameters.p` with 8 levels of `properties`) is about 25.
 */
export const MAX_NESTING = 64;

/** Where a source first nests deeper than `MAX_NESTING`: offset and key path, or undefined. */
export interface TooDeep {
  readonly offset: number;
  readonly path: readonly (string | number)[];
}

type Node = CST.Token | null | undefined;

function keyName(t: Node): string {
  if (t === null || t === undefined) return "?";
  if (t.type === "scalar") return t.source;
  if (t.type === "single-quoted-scalar" || t.type === "double-quoted-scalar")
    return t.source.slice(1, -1);
  return "?";
}

/** The first collection of `tokens` nested deeper than `MAX_NESTING`, found without recursion. */
export function tooDeepCst(tokens: readonly CST.Token[]): TooDeep | undefined {
  const stack: { node: Node; depth: number; path: (string | number)[] }[] = [];
  for (const t of tokens)
    if (t.type === "document") stack.push({ node: t.value, depth: 0, path: [] });
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (node === null || node === undefined) continue;
    if (node.type !== "block-map" && node.type !== "block-seq" && node.type !== "flow-collection")
      continue;
    if (depth >= MAX_NESTING) return { offset: node.offset, path };
    const isSeq =
      node.type === "block-seq" || (node.type === "flow-collection" && node.start.source === "[");
    node.items.forEach((item: CST.CollectionItem, i: number) => {
      const at = [...path, isSeq && item.key === undefined ? i : keyName(item.key)];
      stack.push({ node: item.value, depth: depth + 1, path: at });
      if (item.key !== undefined && item.key !== null)
        stack.push({ node: item.key, depth: depth + 1, path: at });
    });
  }
  return undefined;
}

/** True when a parsed value nests deeper than `MAX_NESTING` (measured without recursion). */
export function tooDeepValue(root: unknown): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: root, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= MAX_NESTING) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: c, depth: depth + 1 });
  }
  return false;
}

/** Where a YAML text first nests deeper than `MAX_NESTING`: 1-based line, column and key path. */
export interface TooDeepAt {
  readonly line: number;
  readonly col: number;
  readonly key: string;
}

/**
 * Measure a whole YAML text before `parseDocument` (whose composer recurses once per level) reads
 * it: the syntax tree is built without recursion. For the gateway and guards configs.
 */
export function tooDeepYaml(text: string): TooDeepAt | undefined {
  const lines = new LineCounter();
  const deep = tooDeepCst(Array.from(new Parser(lines.addNewLine).parse(text)));
  if (deep === undefined) return undefined;
  const pos = lines.linePos(deep.offset);
  let key = "";
  for (const p of deep.path.slice(0, 6))
    key += typeof p === "number" ? `[${p}]` : key === "" ? p : `.${p}`;
  if (deep.path.length > 6) key += "…";
  return { line: pos.line, col: pos.col, key: key === "" ? "(top level)" : key };
}
