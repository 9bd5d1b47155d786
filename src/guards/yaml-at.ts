import { isMap, isNode, isScalar, isSeq, type LineCounter } from "yaml";

/**
 * Read a value that may be a parsed YAML node (with positions) or plain data. Returns plain
 * data, and a way to ask where any part of it was written.
 */
export interface Located {
  value: unknown;
  line: number;
  col: number;
  /** Child by key (maps) or index (sequences). */
  child(key: string | number): Located | undefined;
  /** Where a map's key itself is written (for "unknown key" messages). */
  keyAt(key: string): Located | undefined;
  /** The keys of a map, in written order ([] for anything else). */
  keys(): string[];
  /** The number of items of a sequence (-1 for anything else). */
  length(): number;
}

export function locate(node: unknown, lc: LineCounter | undefined, fallbackLine = 0): Located {
  let line = fallbackLine;
  let col = 0;
  if (isNode(node) && node.range && lc) {
    const p = lc.linePos(node.range[0]);
    line = p.line;
    col = p.col;
  }
  return {
    get value() {
      return isNode(node) ? node.toJSON() : node;
    },
    line,
    col,
    child(key) {
      if (isMap(node)) {
        for (const pair of node.items) {
          const k = isScalar(pair.key) ? pair.key.value : pair.key;
          if (k === key) {
            const l = locate(pair.value ?? pair.key, lc, line);
            if (pair.value === null && isNode(pair.key) && pair.key.range && lc) {
              // `key:` with nothing after it: point at the key
              const p = lc.linePos(pair.key.range[0]);
              return { ...l, line: p.line, col: p.col, value: null };
            }
            return l;
          }
        }
        return undefined;
      }
      if (isSeq(node)) {
        const item = typeof key === "number" ? node.items[key] : undefined;
        return item === undefined ? undefined : locate(item, lc, line);
      }
      if (typeof node === "object" && node !== null) {
        const v = (node as Record<string | number, unknown>)[key];
        return v === undefined ? undefined : locate(v, lc, line);
      }
      return undefined;
    },
    keyAt(key) {
      if (isMap(node))
        for (const pair of node.items) {
          const k = isScalar(pair.key) ? pair.key.value : pair.key;
          if (k === key) return locate(pair.key, lc, line);
        }
      return this.child(key);
    },
    keys: () => keysOf(node),
    length() {
      if (isSeq(node)) return node.items.length;
      return Array.isArray(node) ? node.length : -1;
    },
  };
}

/** The keys of a map node or a plain object, in written order. */
export function keysOf(node: unknown): string[] {
  if (isMap(node)) return node.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
  if (typeof node === "object" && node !== null && !Array.isArray(node)) return Object.keys(node);
  return [];
}
