/**
 * The read side of the stdio client transport (stdio-client.ts): checks messages by hand instead
 * of with the SDK's zod schema (about 65 µs per answer on the reference VM, on every hop), and
 * reads lines in linear time with a size limit (line-splitter.ts). Malformed lines raise an
 * error, which the transport reports through `onerror` (the link logs it).
 */
import { errorResponse, INTERNAL_ERROR, invalidMessage, MAX_DEPTH } from "./jsonrpc.js";
import { type DroppedLine, idOfDropped, LineSplitter } from "./line-splitter.js";

/** What a stdio upstream may send in one line by default (`upstreams[].max_answer_bytes`). */
export const UPSTREAM_MESSAGE_BYTES = 16 * 1024 * 1024;

type Item = { line: string } | { error: Error } | { answer: unknown };

export class LeanReadBuffer {
  #lines: LineSplitter;
  #queue: Item[] = [];
  #head = 0;
  /** The text of the message `readMessage` returned last (the gateway forwards it as is). */
  last: string | undefined;
  constructor(
    readonly maxBytes = UPSTREAM_MESSAGE_BYTES,
    readonly maxDepth = MAX_DEPTH,
    readonly upstream = "upstream",
  ) {
    this.#lines = new LineSplitter(maxBytes);
  }

  append(chunk: Buffer): void {
    this.#lines.push(
      chunk,
      (line) => this.#queue.push({ line }),
      (dropped) => this.#tooLarge(dropped),
    );
  }

  readMessage(): unknown {
    if (this.#head === this.#queue.length) {
      if (this.#head > 0) this.#queue = [];
      this.#head = 0;
      return null;
    }
    const item = this.#queue[this.#head++]!;
    if (!("line" in item)) {
      this.last = undefined;
      if ("error" in item) throw item.error;
      return item.answer;
    }
    this.last = item.line;
    const v = JSON.parse(item.line) as unknown;
    const bad = invalidMessage(v, this.maxDepth);
    if (bad !== undefined) {
      // An answer the gateway refuses still ends its request: with an error, not a wait.
      const id = (v as { id?: unknown } | null)?.id;
      if (typeof id === "number" && !Object.hasOwn(v as object, "method"))
        this.#queue.splice(this.#head, 0, {
          answer: this.#error(id, `an invalid answer (${bad})`),
        });
      throw new Error(`invalid JSON-RPC message from upstream: ${bad}`);
    }
    return v;
  }

  /**
   * A line past the limit is reported (the transport passes the error to `onerror`, which logs it), and
   * the request it answers, when its id can be read, gets an error in its place.
   */
  #tooLarge(d: DroppedLine): void {
    const why = `a message of ${d.bytes} bytes, more than the ${this.maxBytes} allowed (upstreams[].max_answer_bytes in warden.yaml)`;
    this.#queue.push({ error: new Error(`sent ${why}; dropped`) });
    const id = idOfDropped(d);
    if (typeof id !== "number") return;
    this.#queue.push({ answer: this.#error(id, why, d.bytes) });
  }

  #error(id: number, why: string, bytes?: number): unknown {
    return errorResponse(
      id,
      INTERNAL_ERROR,
      `Upstream "${this.upstream}" sent ${why}; Warden dropped it.`,
      bytes === undefined
        ? { warden: "message_invalid", upstream: this.upstream }
        : { warden: "message_too_large", upstream: this.upstream, bytes },
    );
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#lines = new LineSplitter(this.maxBytes);
  }
}
