/**
 * The gateway's stdio front: newline-delimited JSON-RPC on stdin/stdout, parsed by hand
 * (no schema pass per message), lines read in linear time and bounded (line-splitter.ts), and
 * a bounded queue towards the client. When stdin closes, the gateway shuts down.
 */
import type { Readable, Writable } from "node:stream";
import { methodOf, NO_METHOD, type Refusal } from "./audit.js";
import { MESSAGE_LIMITS, type MessageLimits } from "./config-types.js";
import {
  type ErrorResponse,
  errorResponse,
  type Id,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  invalidMessage,
  type Message,
  PARSE_ERROR,
} from "./jsonrpc.js";
import { type DroppedLine, idOfDropped, LineSplitter } from "./line-splitter.js";
import type { Downstream } from "./session-core.js";

/** MCP 2025-06-18 removed JSON-RPC batching, and the SDK's clients never send batches. */
export const BATCH_REFUSED =
  "Invalid Request: JSON-RPC batches are not accepted on stdio (MCP 2025-06-18 removed batching); send each message on its own line.";

const INVALID = { warden: "message_invalid" };

export class StdioFront implements Downstream {
  readonly transport = "stdio" as const;
  readonly #lines: LineSplitter;
  #dropped = false;
  onmessage: (m: Message) => void = () => {};
  onclose: () => void = () => {};
  /** Where the front reports what it refused (the gateway's log). */
  log: (line: string) => void = () => {};
  /** Where the front reports each message it refused (the session's audit line). */
  onrefused: (r: Refusal) => void = () => {};

  constructor(
    readonly input: Readable = process.stdin,
    readonly output: Writable = process.stdout,
    /** The config's `caller` (see Downstream.caller). */
    readonly caller = "stdio",
    readonly limits: MessageLimits = MESSAGE_LIMITS,
  ) {
    this.#lines = new LineSplitter(limits.clientMessageBytes);
  }

  start(): void {
    this.input.on("data", (chunk: Buffer | string) =>
      this.#lines.push(
        typeof chunk === "string" ? Buffer.from(chunk) : chunk,
        (line) => this.#line(line),
        (d) => this.#tooLarge(d),
      ),
    );
    this.input.on("end", () => this.onclose());
    this.input.on("close", () => this.onclose());
    this.output.on("error", () => this.onclose());
  }

  #tooLarge(d: DroppedLine): void {
    const id = idOfDropped(d);
    const why = `a message of ${d.bytes} bytes, more than the ${this.limits.clientMessageBytes} allowed (limits.client_message_bytes in warden.yaml)`;
    this.log(`the client sent ${why}; dropped`);
    this.onrefused({ method: NO_METHOD, code: "message_too_large", reason: `${why}; dropped` });
    this.send(
      errorResponse(id, INVALID_REQUEST, `Invalid Request: ${why}; Warden dropped it.`, {
        warden: "message_too_large",
        bytes: d.bytes,
      }),
    );
  }

  #line(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      if (line.trim() === "") return;
      this.#refuse(
        errorResponse(null, PARSE_ERROR, `Parse error: ${(e as Error).message}`, INVALID),
        NO_METHOD,
      );
      return;
    }
    if (Array.isArray(v)) {
      this.#refuse(errorResponse(null, INVALID_REQUEST, BATCH_REFUSED, INVALID), NO_METHOD);
      return;
    }
    const bad = invalidMessage(v, this.limits.jsonDepth);
    if (bad !== undefined) {
      const o = v as { id?: unknown; method?: unknown } | null;
      const id = typeof o?.id === "string" || typeof o?.id === "number" ? o.id : null;
      this.log(`the client sent an invalid message (${bad}); refused`);
      this.onrefused({
        method: methodOf(o),
        code: "message_invalid",
        reason: `Invalid JSON-RPC message: ${bad}`,
      });
      if (id !== null && o !== null && o.method === undefined)
        // An answer to a server's request: the server gets an error in its place.
        this.#deliver(
          errorResponse(id, INTERNAL_ERROR, `The client sent an invalid answer (${bad}).`, {
            warden: "message_invalid",
          }),
        );
      else
        this.send(
          errorResponse(id, INVALID_REQUEST, `Invalid JSON-RPC message: ${bad}`, {
            warden: "message_invalid",
          }),
        );
      return;
    }
    this.#deliver(v as Message);
  }

  /** Answer a refused message with `e` and report it (its audit line). */
  #refuse(e: ErrorResponse, method: string): void {
    this.onrefused({ method, code: "message_invalid", reason: e.error.message });
    this.send(e);
  }

  #deliver(m: Message): void {
    try {
      this.onmessage(m);
    } catch (e) {
      this.log(`a client message could not be handled; dropped: ${(e as Error).stack}`);
    }
  }

  send(m: Message, related?: Id, json?: string): void {
    if (this.#dropped) return;
    let text = json;
    if (text === undefined)
      try {
        text = JSON.stringify(m);
      } catch (e) {
        this.log(`a message towards the client could not be serialized; dropped: ${e}`);
        if (related === undefined) return;
        text = JSON.stringify(
          errorResponse(
            related,
            INTERNAL_ERROR,
            "Warden gateway error: the answer could not be serialized.",
          ),
        );
      }
    this.output.write(`${text}\n`);
    if (this.output.writableLength > this.limits.clientQueueBytes) this.#drop();
  }

  /** The client does not read what it is sent: drop it rather than queue without end. */
  #drop(): void {
    this.#dropped = true;
    this.log(
      `the client is not reading: more than ${this.limits.clientQueueBytes} bytes are queued towards it (limits.client_queue_bytes in warden.yaml); dropped`,
    );
    this.onclose();
  }
}
