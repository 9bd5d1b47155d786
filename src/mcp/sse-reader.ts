/**
 * An incremental Server-Sent Events parser for the lean HTTP client: feed decoded text with
 * `push`, call `end` when the body ends. Each event with data is handed to `event` (which says
 * whether it held the answer the stream was for); `ended` gets the last event id, the server's
 * retry delay and whether the answer came, to decide on resumption (GET + Last-Event-ID).
 */
export interface SseReader {
  push(text: string): void;
  end(): void;
}

export interface SseEnd {
  lastId: string | undefined;
  retry: number;
  answered: boolean;
}

export function sseReader(event: (data: string) => boolean, ended: (s: SseEnd) => void): SseReader {
  let buf = "";
  const s: SseEnd = { lastId: undefined, retry: 1000, answered: false };
  return {
    push(chunk: string) {
      buf += chunk;
      let end = buf.search(/\r?\n\r?\n/);
      while (end >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(buf[end] === "\r" ? end + 4 : end + 2);
        let data = "";
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("data:"))
            data += (data ? "\n" : "") + line.slice(line[5] === " " ? 6 : 5);
          else if (line.startsWith("id:")) s.lastId = line.slice(3).trim();
          else if (line.startsWith("retry:")) s.retry = Number(line.slice(6).trim()) || s.retry;
        }
        if (data.trim() !== "" && event(data)) s.answered = true;
        end = buf.search(/\r?\n\r?\n/);
      }
    },
    end() {
      ended(s);
    },
  };
}
