/**
 * Lines of an audit file read from an open descriptor, from where the last read stopped: what
 * `warden audit` reads once and `--follow` reads again as the file grows. A line longer than
 * `MAX_LINE_BYTES` is skipped (and said), never buffered whole.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** Longer than any line the audit writer makes (arguments are bounded to 8 KiB by default). */
export const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A complete line (without its newline) and its 1-based number, or a line that was too long. */
export type LineEvent =
  | { readonly kind: "line"; readonly n: number; readonly text: string }
  | { readonly kind: "too_long"; readonly n: number; readonly bytes: number };

export class LineSource {
  readonly path: string;
  readonly ino: number;
  readonly dev: number;
  #fd: number;
  /** Bytes read so far (where the next read starts). */
  pos = 0;
  #line = 0;
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** Bytes of a too-long line dropped so far (its end is still to come). */
  #skipping = 0;
  readonly #buf = Buffer.allocUnsafe(CHUNK);

  /** Open `path` for reading (throws the fs error: the caller says what it means). */
  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, "r");
    const st = fstatSync(this.#fd);
    if (st.isDirectory()) {
      closeSync(this.#fd);
      throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
    }
    this.ino = st.ino;
    this.dev = st.dev;
  }

  /** The file's size now, through the open descriptor (the file may have been renamed). */
  size(): number {
    return fstatSync(this.#fd).size;
  }

  /** Start again from the first byte (the file was truncated in place). */
  restart(): void {
    this.pos = 0;
    this.#line = 0;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#skipping = 0;
  }

  /**
   * Read what is there, up to `maxChunks` chunks of 64 KiB; the complete lines it ends. Returns
   * an empty list at the end of the file (call again when it grew).
   */
  read(maxChunks = 16): LineEvent[] {
    const out: LineEvent[] = [];
    for (let i = 0; i < maxChunks; i++) {
      const n = readSync(this.#fd, this.#buf, 0, CHUNK, this.pos);
      if (n === 0) break;
      this.pos += n;
      this.#take(this.#buf.subarray(0, n), out);
    }
    return out;
  }

  /** The last line when it has no newline (the file is read to its end and will not grow). */
  rest(): LineEvent[] {
    if (this.#skipping > 0) {
      const bytes = this.#skipping;
      this.#skipping = 0;
      return [{ kind: "too_long", n: ++this.#line, bytes }];
    }
    if (this.#partialBytes === 0) return [];
    const text = Buffer.concat(this.#partial).toString("utf8");
    this.#partial = [];
    this.#partialBytes = 0;
    return [{ kind: "line", n: ++this.#line, text }];
  }

  close(): void {
    closeSync(this.#fd);
  }

  #take(chunk: Buffer, out: LineEvent[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.#keep(chunk.subarray(start));
        return;
      }
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#skipping > 0) {
        out.push({ kind: "too_long", n: ++this.#line, bytes: this.#skipping + piece.length });
        this.#skipping = 0;
        continue;
      }
      if (this.#partialBytes + piece.length > MAX_LINE_BYTES) {
        out.push({ kind: "too_long", n: ++this.#line, bytes: this.#partialBytes + piece.length });
        this.#partial = [];
        this.#partialBytes = 0;
        continue;
      }
      let text: string;
      if (this.#partialBytes === 0) text = piece.toString("utf8");
      else {
        this.#partial.push(piece);
        text = Buffer.concat(this.#partial).toString("utf8");
        this.#partial = [];
        this.#partialBytes = 0;
      }
      out.push({
        kind: "line",
        n: ++this.#line,
        text: text.endsWith("\r") ? text.slice(0, -1) : text,
      });
    }
  }

  #keep(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#skipping > 0) {
      this.#skipping += piece.length;
      return;
    }
    if (this.#partialBytes + piece.length > MAX_LINE_BYTES) {
      this.#skipping = this.#partialBytes + piece.length;
      this.#partial = [];
      this.#partialBytes = 0;
      return;
    }
    // A copy: the read buffer is reused.
    this.#partial.push(Buffer.from(piece));
    this.#partialBytes += piece.length;
  }
}
