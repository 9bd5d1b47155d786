/**
 * Just enough of the WebAssembly binary format to read and rewrite memory and table limits,
 * list imported memories/tables and measure function bodies. Everything else is copied as is.
 */

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Payload start and end. */
  bodyStart: number;
  end: number;
}

export interface WasmLimits {
  min: number;
  max: number | null;
  shared: boolean;
  memory64: boolean;
  /** Custom page size (custom-page-sizes proposal) or other flags Warden does not support. */
  exotic: boolean;
}

export type BinaryKind = "core" | "component" | "unknown";

export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
    readonly end = bytes.length,
  ) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw new RangeError("unexpected end of section");
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError("LEB128 too long");
    }
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new RangeError("unexpected end of section");
    this.pos += n;
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.skip(n);
    return s;
  }
  /** A reference or value type: one byte, or 0x63/0x64 followed by a heap type. */
  valType(): void {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) this.u32();
  }
  limits(): WasmLimits {
    const flags = this.byte();
    const min = this.u32();
    const max = flags & 1 ? this.u32() : null;
    if (flags & 8) this.u32(); // custom page size log2
    return { min, max, shared: (flags & 2) !== 0, memory64: (flags & 4) !== 0, exotic: flags > 7 };
  }
}

export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73)
    return "unknown";
  if (bytes[3] !== 0x6d) return "unknown";
  if (bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return "core";
  if (bytes[6] === 1 && bytes[7] === 0) return "component";
  return "unknown";
}

export function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const bodyStart = r.pos;
    r.skip(size);
    out.push({ id, start, bodyStart, end: r.pos });
  }
  return out;
}

export interface Layout {
  memories: WasmLimits[];
  importedMemories: WasmLimits[];
  tables: WasmLimits[];
  importedTables: WasmLimits[];
  /** Tables declared with an initializer expression (function-references form). */
  tablesWithInit: number;
  /** Size in bytes of the largest function body. */
  maxBodyBytes: number;
}

export function layout(bytes: Uint8Array): Layout {
  const out: Layout = {
    memories: [],
    importedMemories: [],
    tables: [],
    importedTables: [],
    tablesWithInit: 0,
    maxBodyBytes: 0,
  };
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.bodyStart, s.end);
    if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.valType();
          out.importedTables.push(r.limits());
        } else if (kind === 2) out.importedMemories.push(r.limits());
        else if (kind === 3) {
          r.valType();
          r.byte();
        } else if (kind === 4) {
          r.byte();
          r.u32();
        } else throw new RangeError(`unknown import kind ${kind}`);
      }
    } else if (s.id === 4) {
      for (let n = r.u32(); n > 0; n--) {
        if (bytes[r.pos] === 0x40) {
          out.tablesWithInit++;
          break; // cannot skip the initializer expression without decoding it
        }
        r.valType();
        out.tables.push(r.limits());
      }
    } else if (s.id === 5) {
      for (let n = r.u32(); n > 0; n--) out.memories.push(r.limits());
    } else if (s.id === 10) {
      for (let n = r.u32(); n > 0; n--) {
        const size = r.u32();
        if (size > out.maxBodyBytes) out.maxBodyBytes = size;
        r.skip(size);
      }
    }
  }
  return out;
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function limitsBytes(min: number, max: number): number[] {
  return [1, ...leb(min), ...leb(max)];
}

/**
 * Rewrite the declared maxima of the module's own memories and tables to at most the given
 * caps (memory in pages, tables in elements). Callers refuse exotic limits before this.
 */
export function capLimits(
  bytes: Uint8Array,
  memoryPages: number,
  tableElements: number,
): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    if (s.id !== 4 && s.id !== 5) {
      parts.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(bytes, s.bodyStart, s.end);
    const body: number[] = [];
    const n = r.u32();
    body.push(...leb(n));
    for (let i = 0; i < n; i++) {
      if (s.id === 4) {
        const t0 = r.pos;
        r.valType();
        body.push(...bytes.subarray(t0, r.pos));
      }
      const l = r.limits();
      const cap = s.id === 4 ? tableElements : memoryPages;
      body.push(...limitsBytes(l.min, Math.min(l.max ?? cap, cap)));
    }
    parts.push(new Uint8Array([s.id, ...leb(body.length), ...body]));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when the type section declares GC types (struct, array, rec or sub groups). */
export function usesGcTypes(bytes: Uint8Array): boolean {
  for (const s of sections(bytes)) {
    if (s.id !== 1) continue;
    const r = new Reader(bytes, s.bodyStart, s.end);
    for (let n = r.u32(); n > 0; n--) {
      if (r.byte() !== 0x60) return true;
      for (let p = r.u32(); p > 0; p--) r.valType();
      for (let q = r.u32(); q > 0; q--) r.valType();
    }
  }
  return false;
}

/** Skip a constant expression; false if it uses an opcode this reader does not know. */
function skipConstExpr(r: Reader): boolean {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return true;
    if (op === 0x41 || op === 0x42 || op === 0x23) r.u32();
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) return false;
  }
}

/** True when the data section has passive segments (or ones this reader cannot follow). */
export function hasPassiveData(bytes: Uint8Array): boolean {
  for (const s of sections(bytes)) {
    if (s.id !== 11) continue;
    const r = new Reader(bytes, s.bodyStart, s.end);
    for (let n = r.u32(); n > 0; n--) {
      const flags = r.u32();
      if (flags === 1) return true;
      if (flags === 2) r.u32();
      else if (flags !== 0) return true;
      if (!skipConstExpr(r)) return true;
      r.skip(r.u32());
    }
  }
  return false;
}
