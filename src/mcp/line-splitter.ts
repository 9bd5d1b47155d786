/**
 * Newline-delimited JSON-RPC (stdio, both sides) cut into lines in linear time: each byte is
 * scanned once and a line is joined once, when its newline comes. A line longer than `max` bytes
 * is not kept: the splitter drops bytes until the next newline and reports the line's size with
 * its first and last bytes, where the sender's id usually is (see `idOfDropped`).
 */
import type { Id } from "./jsonrpc.js";

/** A line refused for its length: its size and its first and last few bytes. */
export interface DroppedLine {
  bytes: number;
  head: string;
  tail: string;
}

const EDGE = 64;

export class LineSplitter {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Set while a line past the limit is being dropped. */
  #drop: { bytes: number; head: Buffer; tail: Buffer } | undefined;

  constructor(readonly max: number) {}

  /** Bytes held for the line not yet complete (never more than `max`). */
  get held(): number {
    return this.#size;
  }

  /** Feed one chunk: `line` gets each complete line (without \n or \r\n), `dropped` each refused one. */
  push(chunk: Buffer, line: (text: string) => void, dropped: (d: DroppedLine) => void): void {
    let pos = 0;
    while (pos <= chunk.length) {
      const nl = chunk.indexOf(10, pos);
      const piece = chunk.subarray(pos, nl < 0 ? chunk.length : nl);
      if (this.#drop !== undefined) this.#dropMore(piece);
      else if (this.#size + piece.length > this.max) this.#startDrop(piece);
      else if (nl >= 0) {
        const all = this.#chunks.length === 0 ? piece : Buffer.concat([...this.#chunks, piece]);
        this.#chunks = [];
        this.#size = 0;
        const end = all.length > 0 && all[all.length - 1] === 13 ? all.length - 1 : all.length;
        if (end > 0) line(all.toString("utf8", 0, end));
      } else if (piece.length > 0) {
        this.#chunks.push(piece);
        this.#size += piece.length;
      }
      if (nl < 0) return;
      if (this.#drop !== undefined) {
        const d = this.#drop;
        this.#drop = undefined;
        dropped({ bytes: d.bytes, head: d.head.toString("utf8"), tail: d.tail.toString("utf8") });
      }
      pos = nl + 1;
    }
  }

  #startDrop(piece: Buffer): void {
    const all = Buffer.concat([...this.#chunks, piece.subarray(0, EDGE)]);
    this.#drop = {
      bytes: this.#size,
      head: Buffer.from(all.subarray(0, EDGE)),
      tail: Buffer.alloc(0),
    };
    this.#chunks = [];
    this.#size = 0;
    this.#dropMore(piece);
  }

  #dropMore(piece: Buffer): void {
    const d = this.#drop!;
    d.bytes += piece.length;
    d.tail =
      piece.length >= EDGE
        ? Buffer.from(piece.subarray(piece.length - EDGE))
        : Buffer.concat([d.tail, piece]).subarray(-EDGE);
  }
}

/**
 * The id of a dropped line, where it is plain in the layouts the SDKs write: last
 * (`…,"id":7}`, TypeScript) or right after the version (`{"jsonrpc":"2.0","id":7,…`, Python);
 * null otherwise. Only used to address the error that says the line was too long.
 */
export function idOfDropped(d: DroppedLine): Id | null {
  const m =
    /,"id":(-?\d{1,15}|"[^"\\]{0,64}")\}\r?$/.exec(d.tail) ??
    /^\{"jsonrpc":"2\.0","id":(-?\d{1,15}|"[^"\\]{0,64}"),/.exec(d.head);
  if (m === null) return null;
  return JSON.parse(m[1]!) as Id;
}
