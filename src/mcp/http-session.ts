/**
 * The HTTP side of one downstream session: which POST response stream each client request
 * is answered on, the standalone GET stream, and the switch from a JSON answer to an SSE
 * stream the moment a request gets a message before its answer (progress, sampling...).
 */
import type { ServerResponse } from "node:http";
import type { Id, Message } from "./jsonrpc.js";
import type { Downstream } from "./session-core.js";

const MAX_QUEUED = 1000;

function sse(m: Message): string {
  return `event: message\ndata: ${JSON.stringify(m)}\n\n`;
}

/** The answer stream of one POST that carried requests. */
export class PostStream {
  #sse = false;
  #answers: Message[] = [];
  #done = false;
  constructor(
    readonly res: ServerResponse,
    readonly pending: Set<Id>,
    readonly batch: boolean,
    readonly acceptsSse: boolean,
    readonly headers: Record<string, string>,
  ) {}

  get open(): boolean {
    return !this.#done && !this.res.destroyed;
  }

  /** Send a non-final message for one of this POST's requests; false if it cannot stream. */
  event(m: Message): boolean {
    if (!this.open) return false;
    if (!this.#sse) {
      if (!this.acceptsSse) return false;
      this.#sse = true;
      this.res.writeHead(200, {
        ...this.headers,
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      for (const a of this.#answers) this.res.write(sse(a));
      this.#answers = [];
    }
    this.res.write(sse(m));
    return true;
  }

  answer(id: Id, m: Message): void {
    this.pending.delete(id);
    if (!this.open) return;
    if (this.#sse) this.res.write(sse(m));
    else this.#answers.push(m);
    if (this.pending.size > 0) return;
    this.#done = true;
    if (this.#sse) this.res.end();
    else {
      const body = JSON.stringify(this.batch ? this.#answers : this.#answers[0]);
      this.res.writeHead(200, { ...this.headers, "content-type": "application/json" });
      this.res.end(body);
    }
  }
}

export class HttpDownstream implements Downstream {
  readonly transport = "http" as const;
  readonly byRequest = new Map<Id, PostStream>();
  getStream: ServerResponse | undefined;
  #queue: Message[] = [];
  lastActive = Date.now();

  constructor(
    readonly sessionId: string,
    readonly host: string | undefined,
  ) {}

  send(m: Message, related?: Id): void {
    const isAnswer = !("method" in m) && "id" in m;
    if (isAnswer) {
      const id = (m as { id: Id }).id;
      const s = this.byRequest.get(id);
      if (s !== undefined) {
        this.byRequest.delete(id);
        s.answer(id, m);
        return;
      }
    } else if (related !== undefined) {
      const s = this.byRequest.get(related);
      if (s?.event(m)) return;
    }
    this.#standalone(m);
  }

  #standalone(m: Message): void {
    const g = this.getStream;
    if (g !== undefined && !g.destroyed) g.write(sse(m));
    else if (this.#queue.length < MAX_QUEUED) this.#queue.push(m);
  }

  /** A GET stream opened: send what waited for it. */
  attachGet(res: ServerResponse): void {
    this.getStream = res;
    const q = this.#queue;
    this.#queue = [];
    for (const m of q) res.write(sse(m));
    res.on("close", () => {
      if (this.getStream === res) this.getStream = undefined;
    });
  }

  closeStreams(): void {
    this.getStream?.end();
    for (const s of this.byRequest.values()) if (s.open) s.res.end();
    this.byRequest.clear();
  }
}
