/**
 * Positions for JSON sources, without the YAML composer: one scan of the text records where
 * each key and value starts, by path. JSON.parse gives the value. Returns undefined on
 * anything unusual (a duplicate key, a syntax problem), and the caller falls back to the
 * YAML parser, which reports it with its position.
 */
export type JsonIndex = Map<string, number>;

/**
 * Sources at or over this many characters are not indexed (the readers give up and the `yaml`
 * package, with its own node positions, reads them): below it, a key's and its value's offsets
 * pack into one number, so the index holds no two-element array per node.
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

export function pathKey(path: readonly (string | number)[]): string {
  return path.join("\u0000");
}

export function indexJson(text: string): JsonIndex | undefined {
  if (text.length >= MAX_INDEXED) return undefined;
  const map: JsonIndex = new Map();
  const n = text.length;
  let i = 0;
  const ws = () => {
    for (
      let c = text.charCodeAt(i);
      c === 32 || c === 9 || c === 10 || c === 13;
      c = text.charCodeAt(++i)
    );
  };
  const str = (): string | undefined => {
    if (text.charCodeAt(i) !== 34) return undefined;
    const start = i++;
    let escaped = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 92) {
        escaped = true;
        i += 2;
      } else if (c === 34) {
        i++;
        if (!escaped) return text.slice(start + 1, i - 1);
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          return undefined;
        }
      } else i++;
    }
    return undefined;
  };
  const value = (key: string, keyOffset: number, depth: number): boolean => {
    if (depth > 200) return false;
    ws();
    map.set(key, packOffsets(keyOffset, i));
    const c = text.charCodeAt(i);
    if (c === 123) {
      i++;
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return true;
      }
      const seen = new Set<string>();
      for (;;) {
        ws();
        const at = i;
        const k = str();
        if (k === undefined || seen.has(k)) return false;
        seen.add(k);
        ws();
        if (text.charCodeAt(i) !== 58) return false;
        i++;
        if (!value(depth === 0 ? k : `${key}\u0000${k}`, at, depth + 1)) return false;
        ws();
        const d = text.charCodeAt(i++);
        if (d === 125) return true;
        if (d !== 44) return false;
      }
    }
    if (c === 91) {
      i++;
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return true;
      }
      for (let idx = 0; ; idx++) {
        if (!value(depth === 0 ? String(idx) : `${key}\u0000${idx}`, i, depth + 1)) return false;
        ws();
        const d = text.charCodeAt(i++);
        if (d === 93) return true;
        if (d !== 44) return false;
      }
    }
    if (c === 34) return str() !== undefined;
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 93 || d === 125 || d === 32 || d === 9 || d === 10 || d === 13) break;
      i++;
    }
    return i > start;
  };
  if (!value("", 0, 0)) return undefined;
  ws();
  return i === n ? map : undefined;
}
