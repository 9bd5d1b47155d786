/**
 * Where each key and value of a parsed source starts, for file:line:col. The JSON reader,
 * which does not use the `yaml` package (JSON.parse with json-index.ts), records,
 * for each mapping and sequence it produces, the offsets of its children, keyed by the
 * parsed object itself: a lookup walks the path through the parsed value. No string key is
 * built per node (the index this replaces built one per node and hashed it: a tenth of a
 * 500-rule compile).
 */
import type { Path } from "./source.js";

/**
 * Sources at or over this many characters are not indexed (the scan gives up and the `yaml`
 * package, with its own node positions, reads them): below it, a key's and its value's offsets
 * pack into one number.
 */
export const MAX_INDEXED = 2 ** 26;

/** The key and value offsets of one node, packed (see `MAX_INDEXED`). */
export function packOffsets(keyOffset: number, valueOffset: number): number {
  return keyOffset * MAX_INDEXED + valueOffset;
}

/** The key offset (`key`) or the value offset of a packed entry. */
export function unpackOffset(entry: number, key: boolean): number {
  const k = Math.floor(entry / MAX_INDEXED);
  return key ? k : entry - k * MAX_INDEXED;
}

/**
 * A container's children: for a mapping `[key0, packed0, key1, packed1, ...]` in source order,
 * for a sequence `[packed0, packed1, ...]` by index.
 */
export type ChildOffsets = (string | number)[];

export class Positions {
  /** Packed offsets of the root value. */
  root = 0;
  readonly #children = new Map<object, ChildOffsets>();

  /** Start the record of `container`'s children. */
  open(container: object): ChildOffsets {
    const rec: ChildOffsets = [];
    this.#children.set(container, rec);
    return rec;
  }

  /**
   * The offset of the value at `path` in `value` (the parsed root), or of its key when `key`;
   * a path that goes past what the source has gives the value offset of its longest prefix
   * that exists (the mapping an unknown or missing key belongs to).
   */
  offset(value: unknown, path: Path, key: boolean): number {
    let node = value;
    let packed = this.root;
    let found = true;
    for (let i = 0; i < path.length; i++) {
      const rec = node !== null && typeof node === "object" ? this.#children.get(node) : undefined;
      const p = rec === undefined ? -1 : childOffset(node as object, rec, path[i]!);
      if (p < 0) {
        found = false;
        break;
      }
      packed = p;
      node = (node as Record<string | number, unknown>)[path[i]!];
    }
    return unpackOffset(packed, key && found);
  }
}

function childOffset(node: object, rec: ChildOffsets, seg: string | number): number {
  if (Array.isArray(node)) {
    const i = typeof seg === "number" ? seg : /^(?:0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : -1;
    return i >= 0 && i < rec.length ? (rec[i] as number) : -1;
  }
  const k = typeof seg === "number" ? String(seg) : seg;
  for (let j = 0; j < rec.length; j += 2) if (rec[j] === k) return rec[j + 1] as number;
  return -1;
}
