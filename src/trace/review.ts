/**
 * Review on the terminal: the traced call waits (its thread blocked on `POST /review`) until a
 * person answers y or n, with the rule and the arguments shown, or the timeout denies. One
 * question at a time. Without a terminal, review means deny (and the summary says so).
 */
import { openSync } from "node:fs";
import { ReadStream } from "node:tty";
import { eventLine } from "./output.js";
import type { ReviewAnswer, TraceEvent } from "./protocol.js";

export function hasTerminal(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

export function terminalReviewer(timeoutMs: number): (e: TraceEvent) => Promise<ReviewAnswer> {
  let chain: Promise<unknown> = Promise.resolve();
  return (e) => {
    if (!hasTerminal()) return Promise.resolve({ decision: "deny", why: "no_tty" });
    const next = chain.then(() => ask(e, timeoutMs));
    chain = next.catch(() => undefined);
    return next;
  };
}

function ask(e: TraceEvent, timeoutMs: number): Promise<ReviewAnswer> {
  return new Promise((resolve) => {
    let tty: ReadStream;
    try {
      tty = new ReadStream(openSync("/dev/tty", "r"));
    } catch {
      resolve({ decision: "deny", why: "no_tty" });
      return;
    }
    process.stderr.write(
      `\nwarden: review  ${eventLine(e, true)}\n  allow it? [y/N] (denied in ${Math.round(timeoutMs / 1000)} s) `,
    );
    let buf = "";
    const done = (a: ReviewAnswer) => {
      clearTimeout(timer);
      tty.removeAllListeners("data");
      tty.destroy();
      process.stderr.write(`${a.decision === "allow" ? "allowed" : `denied (${a.why})`}\n`);
      resolve(a);
    };
    const timer = setTimeout(() => done({ decision: "deny", why: "timeout" }), timeoutMs);
    tty.setEncoding("utf8");
    tty.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const a = buf.slice(0, nl).trim().toLowerCase();
      done(
        a === "y" || a === "yes"
          ? { decision: "allow", why: "allowed" }
          : { decision: "deny", why: "denied" },
      );
    });
  });
}
