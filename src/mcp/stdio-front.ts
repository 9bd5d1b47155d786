/**
 * The gateway's stdio front: newline-delimited JSON-RPC on stdin/stdout, parsed by hand
 * (no schema pass per message). When stdin closes, the gateway shuts down.
 */
import type { Readable, Writable } from "node:stream";
import {
  errorResponse,
  type Id,
  INVALID_REQUEST,
  invalidMessage,
  type Message,
  PARSE_ERROR,
} from "./jsonrpc.js";
import type { Downstream } from "./session-core.js";

/** MCP 2025-06-18 removed JSON-RPC batching, and the SDK's clients never send batches. */
export const BATCH_REFUSED =
  "Invalid Request: JSON-RPC batches are not accepted on stdio (MCP 2025-06-18 removed batching); send each message on its own line.";

export class StdioFront implements Downstream {
  readonly transport = "stdio" as const;
  #buf = "";
  onmessage: (m: Message) => void = () => {};
  onclose: () => void = () => {};

  constructor(
    readonly input: Readable = process.stdin,
    readonly output: Writable = process.stdout,
    /** The config's `caller` (see Downstream.caller). */
    readonly caller = "stdio",
  ) {}

  start(): void {
    this.input.setEncoding("utf8");
    this.input.on("data", (chunk: string) => this.#data(chunk));
    this.input.on("end", () => this.onclose());
    this.input.on("close", () => this.onclose());
    this.output.on("error", () => this.onclose());
  }

  #data(chunk: string): void {
    let text = this.#buf + chunk;
    let nl = text.indexOf("\n");
    while (nl >= 0) {
      const line = text.slice(0, nl).trim();
      text = text.slice(nl + 1);
      if (line.length > 0) this.#line(line);
      nl = text.indexOf("\n");
    }
    this.#buf = text;
  }

  #line(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      this.send(errorResponse(null, PARSE_ERROR, `Parse error: ${(e as Error).message}`));
      return;
    }
    if (Array.isArray(v)) {
      this.send(errorResponse(null, INVALID_REQUEST, BATCH_REFUSED));
      return;
    }
    const bad = invalidMessage(v);
    if (bad !== undefined) {
      const id = (v as { id?: unknown })?.id;
      this.send(
        errorResponse(
          typeof id === "string" || typeof id === "number" ? id : null,
          INVALID_REQUEST,
          `Invalid JSON-RPC message: ${bad}`,
        ),
      );
      return;
    }
    this.onmessage(v as Message);
  }

  send(m: Message, _related?: Id, json?: string): void {
    this.output.write(`${json ?? JSON.stringify(m)}\n`);
  }
}
