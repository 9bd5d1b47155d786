import { describe, expect, it } from "vitest";
import { makeCall } from "../../src/core/call.js";
import { Chain } from "../../src/core/chain.js";
import { LoggingStrategy } from "../../src/core/strategies/logging.js";

function memorySink() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } };
}

describe("logging strategy", () => {
  it("logs a call and a return event through pino, redacting arguments and results by default", () => {
    const sink = memorySink();
    const chain = new Chain("c", [new LoggingStrategy({ destination: sink.destination })]);
    chain.invoke(
      makeCall("agent", "files", "read", { path: "/etc/passwd", token: "s3cr3t" }),
      () => "root:x:0:0",
    );
    expect(sink.lines).toHaveLength(2);
    expect(sink.lines[0]).toMatchObject({
      event: "call",
      source: "agent",
      target: "files",
      function: "read",
      args: "[redacted]",
      level: 30,
    });
    expect(sink.lines[1]).toMatchObject({
      event: "return",
      function: "read",
      result: "[redacted]",
    });
    expect(typeof sink.lines[1]!.duration_ms).toBe("number");
    expect(JSON.stringify(sink.lines)).not.toContain("s3cr3t");
  });

  it("redacts only the listed paths when given paths", () => {
    const sink = memorySink();
    const chain = new Chain("c", [
      new LoggingStrategy({
        destination: sink.destination,
        redactArgs: ["token", "headers.authorization"],
        redactResult: ["secret"],
      }),
    ]);
    chain.invoke(
      makeCall("a", "t", "f", {
        path: "/x",
        token: "t0k",
        headers: { authorization: "Bearer z", accept: "json" },
      }),
      () => ({
        secret: "k",
        ok: true,
      }),
    );
    expect(sink.lines[0]!.args).toEqual({
      path: "/x",
      token: "[redacted]",
      headers: { authorization: "[redacted]", accept: "json" },
    });
    expect(sink.lines[1]!.result).toEqual({ secret: "[redacted]", ok: true });
  });

  it("logs everything with redaction off, and records target errors", () => {
    const sink = memorySink();
    const chain = new Chain("c", [
      new LoggingStrategy({
        destination: sink.destination,
        redactArgs: false,
        redactResult: false,
        level: "debug",
      }),
    ]);
    chain.invoke(makeCall("a", "t", "f", [1, 2]), () => 3);
    expect(() =>
      chain.invoke(makeCall("a", "t", "g"), () => {
        throw new TypeError("bad");
      }),
    ).toThrow();
    expect(sink.lines[0]).toMatchObject({ args: [1, 2], level: 20 });
    expect(sink.lines[1]).toMatchObject({ result: 3 });
    expect(sink.lines[3]).toMatchObject({
      event: "return",
      function: "g",
      error: { name: "TypeError", message: "bad" },
    });
  });

  it("logResults: false logs only the call event", () => {
    const sink = memorySink();
    const chain = new Chain("c", [
      new LoggingStrategy({ destination: sink.destination, logResults: false }),
    ]);
    chain.invoke(makeCall("a", "t", "f"), () => 1);
    expect(sink.lines.map((l) => l.event)).toEqual(["call"]);
  });
});
