import { isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import type { Path } from "./source.js";

/**
 * The node of the `yaml` document at `path` (a value; the pair's key node when `key`), or the
 * node of the longest prefix of `path` that the document has (the mapping a missing key
 * belongs to). How config errors get their line and column.
 */
export function nodeAt(root: Node | null, path: Path, key = false): Node | null {
  let node: Node | null = root;
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
