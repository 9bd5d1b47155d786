/**
 * Positions for JSON sources, without the YAML composer: one scan of the text, beside the
 * value JSON.parse gave, records where each key and value starts (see positions.ts). Returns
 * undefined on anything unusual (a duplicate key, a syntax problem, text that does not match
 * the value), and the caller falls back to the YAML parser, which reports it with its position.
 */
import { MAX_INDEXED, Positions, packOffsets } from "./positions.js";

export function indexJson(text: string, root: unknown): Positions | undefined {
  if (text.length >= MAX_INDEXED) return undefined;
  const positions = new Positions();
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
  /** The node `node` at `i`: its packed offsets, or -1 when the scan gives up. */
  const value = (node: unknown, keyOffset: number, depth: number): number => {
    if (depth > 200) return -1;
    ws();
    const at = packOffsets(keyOffset, i);
    const c = text.charCodeAt(i);
    if (c === 123) {
      if (node === null || typeof node !== "object" || Array.isArray(node)) return -1;
      const rec = positions.open(node);
      i++;
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return at;
      }
      const seen = new Set<string>();
      for (;;) {
        ws();
        const kAt = i;
        const k = str();
        if (k === undefined || seen.has(k)) return -1;
        seen.add(k);
        ws();
        if (text.charCodeAt(i) !== 58) return -1;
        i++;
        const p = value((node as Record<string, unknown>)[k], kAt, depth + 1);
        if (p < 0) return -1;
        rec.push(k, p);
        ws();
        const d = text.charCodeAt(i++);
        if (d === 125) return at;
        if (d !== 44) return -1;
      }
    }
    if (c === 91) {
      if (!Array.isArray(node)) return -1;
      const rec = positions.open(node);
      i++;
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return at;
      }
      for (let idx = 0; ; idx++) {
        const p = value(node[idx], i, depth + 1);
        if (p < 0) return -1;
        rec.push(p);
        ws();
        const d = text.charCodeAt(i++);
        if (d === 93) return at;
        if (d !== 44) return -1;
      }
    }
    if (c === 34) return str() !== undefined ? at : -1;
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 93 || d === 125 || d === 32 || d === 9 || d === 10 || d === 13) break;
      i++;
    }
    return i > start ? at : -1;
  };
  const rootAt = value(root, 0, 0);
  if (rootAt < 0) return undefined;
  positions.root = rootAt;
  ws();
  return i === n ? positions : undefined;
}
