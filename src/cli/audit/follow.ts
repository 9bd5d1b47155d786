/**
 * Reading an audit file once, or following it like `tail -F`: as it grows, across rotation (the
 * file renamed and a new one created at its path: the audit writer reopens on SIGHUP), and
 * across truncation in place (logrotate's copytruncate). Polls the path, as tail -F does.
 */
import { type Stats, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type LineEvent, LineSource } from "./lines.js";

export interface Sink {
  /** Lines read, in order; `file` is the path they were read from. */
  lines(events: readonly LineEvent[], file: string): Promise<void>;
  /** Something the reader noticed (rotation, truncation, waiting): one line on stderr. */
  note(message: string): void;
}

/** Read `src` from where it is to its end now. */
async function drain(src: LineSource, sink: Sink): Promise<void> {
  while (src.pos < src.size()) {
    const events = src.read();
    if (events.length > 0) await sink.lines(events, src.path);
  }
}

/** The whole file (opened by the caller), its last line included even without a newline. */
export async function readOnce(src: LineSource, sink: Sink): Promise<void> {
  const path = src.path;
  try {
    await drain(src, sink);
    const rest = src.rest();
    if (rest.length > 0) await sink.lines(rest, path);
  } finally {
    src.close();
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function open(path: string): LineSource | undefined {
  try {
    return new LineSource(path);
  } catch {
    return undefined;
  }
}

/**
 * Follow `path` until `signal` aborts. A new file at the path is switched to once it has data
 * (the writer has moved to it: until then lines still go to the renamed file, which is read to
 * its end first), so no line written around a rotation is lost.
 */
export async function follow(
  path: string,
  sink: Sink,
  signal: AbortSignal,
  intervalMs = 200,
): Promise<void> {
  let cur = open(path);
  if (cur === undefined) sink.note(`${path}: not there yet; waiting for it`);
  try {
    while (!signal.aborted) {
      if (cur !== undefined) await drain(cur, sink);
      const st = statOf(path);
      if (cur === undefined) {
        if (st !== undefined && (cur = open(path)) !== undefined) continue;
      } else if (st !== undefined && (st.ino !== cur.ino || st.dev !== cur.dev)) {
        if (st.size > 0) {
          await drain(cur, sink);
          const rest = cur.rest();
          if (rest.length > 0) await sink.lines(rest, cur.path);
          cur.close();
          cur = open(path);
          sink.note(`${path}: rotated; following the new file`);
          continue;
        }
      } else if (st !== undefined && st.size < cur.pos) {
        sink.note(`${path}: truncated; reading it from the start`);
        cur.restart();
        continue;
      }
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        break;
      }
    }
  } finally {
    cur?.close();
  }
}
