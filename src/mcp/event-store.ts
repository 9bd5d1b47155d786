/**
 * The per-session SSE event store of the HTTP front, for resumption (GET + Last-Event-ID,
 * Streamable HTTP 2025-03-26 and later): every SSE event on a session's streams gets an id
 * `<stream>.<seq>` (stream 0 is the standalone GET stream, others are POST streams; seq counts
 * per session) and its frame is kept, bounded: at most MAX_EVENTS events and MAX_EVENT_BYTES
 * characters of frames per session, the oldest evicted first. An id is resumable while every
 * later event of its stream is still kept; see docs/gateway.md, "Resumption".
 */

/** Events kept per session (the oldest are evicted first). */
export const MAX_EVENTS = 1000;
/** Characters of SSE frames kept per session (the oldest are evicted first). */
export const MAX_EVENT_BYTES = 4 * 1024 * 1024;

/** The number of the standalone GET stream. */
export const GET_STREAM = 0;

/** What the store knows of one stream. */
interface StreamRec {
  /** Events of this stream still kept. */
  kept: number;
  /** Highest seq of this stream evicted (0: none). */
  evictedTo: number;
  /** No more events will come (a POST stream whose requests are all answered). */
  done: boolean;
}

interface Stored {
  stream: number;
  seq: number;
  frame: string;
}

export type Lookup =
  | { ok: true; stream: number; seq: number; done: boolean }
  | { ok: false; reason: string };

const ID = /^(\d{1,15})\.(\d{1,15})$/;

export class EventStore {
  readonly #streams = new Map<number, StreamRec>([
    [GET_STREAM, { kept: 0, evictedTo: 0, done: false }],
  ]);
  #events: Stored[] = [];
  #head = 0;
  #seq = 0;
  #nextStream = 1;
  #chars = 0;

  constructor(
    readonly maxEvents = MAX_EVENTS,
    readonly maxChars = MAX_EVENT_BYTES,
  ) {}

  /** A new POST stream's number. */
  open(): number {
    const n = this.#nextStream++;
    this.#streams.set(n, { kept: 0, evictedTo: 0, done: false });
    return n;
  }

  /** The SSE frame of one message (its JSON text) on `stream`, with its id; kept for replay. */
  frame(stream: number, json: string): string {
    const seq = ++this.#seq;
    const frame = `id: ${stream}.${seq}\nevent: message\ndata: ${json}\n\n`;
    const rec = this.#streams.get(stream);
    if (rec === undefined) return frame;
    rec.kept++;
    this.#events.push({ stream, seq, frame });
    this.#chars += frame.length;
    if (this.#events.length - this.#head > this.maxEvents || this.#chars > this.maxChars)
      this.#evict();
    return frame;
  }

  /** A priming event for `stream` (an id, no data; SEP-1699): a point to resume from. */
  prime(stream: number, retryMs: number): string {
    return `id: ${stream}.${++this.#seq}\nretry: ${retryMs}\ndata: \n\n`;
  }

  /** A stream gets no more events: forget it once none of its events are kept. */
  finish(stream: number): void {
    const rec = this.#streams.get(stream);
    if (rec === undefined) return;
    rec.done = true;
    if (rec.kept === 0 && stream !== GET_STREAM) this.#streams.delete(stream);
  }

  /** Where a Last-Event-ID points, or why it cannot be resumed. */
  lookup(lastEventId: string): Lookup {
    const m = ID.exec(lastEventId);
    if (m === null)
      return { ok: false, reason: "it is not an event id of this gateway (<stream>.<seq>)" };
    const stream = Number(m[1]);
    const seq = Number(m[2]);
    const rec = this.#streams.get(stream);
    if (rec === undefined || seq > this.#seq)
      return { ok: false, reason: "no stream of this session has this event (unknown or expired)" };
    if (rec.evictedTo > seq)
      return {
        ok: false,
        reason: `events after it were evicted (a session keeps its last ${this.maxEvents} events, at most ${this.maxChars} characters)`,
      };
    return { ok: true, stream, seq, done: rec.done };
  }

  /** The kept frames of `stream` after `seq`, oldest first. */
  after(stream: number, seq: number): string[] {
    const out: string[] = [];
    for (let i = this.#head; i < this.#events.length; i++) {
      const e = this.#events[i]!;
      if (e.stream === stream && e.seq > seq) out.push(e.frame);
    }
    return out;
  }

  /** Events kept (for tests and metrics). */
  get size(): number {
    return this.#events.length - this.#head;
  }

  #evict(): void {
    const events = this.#events;
    while (
      this.#head < events.length &&
      (events.length - this.#head > this.maxEvents || this.#chars > this.maxChars)
    ) {
      const e = events[this.#head]!;
      events[this.#head] = undefined as never;
      this.#head++;
      this.#chars -= e.frame.length;
      const rec = this.#streams.get(e.stream);
      if (rec === undefined) continue;
      rec.kept--;
      rec.evictedTo = e.seq;
      if (rec.kept === 0 && rec.done) this.#streams.delete(e.stream);
    }
    if (this.#head > 1024 && this.#head * 2 > events.length) {
      this.#events = events.slice(this.#head);
      this.#head = 0;
    }
  }
}
