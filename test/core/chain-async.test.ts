/** The chain's priority order and its async story, decided once at composition. */
import { describe, expect, it } from "vitest";
import { type Call, makeCall } from "../../src/core/call.js";
import { Chain } from "../../src/core/chain.js";
import { ALLOW, decide, deny } from "../../src/core/decision.js";
import { WardenError } from "../../src/core/errors.js";
import type { Strategy } from "../../src/core/strategy.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("chain order by priority", () => {
  it("runs lower priorities first; equal ones and those without keep the order given", () => {
    const log: string[] = [];
    const s = (name: string, priority?: number): Strategy => ({
      name,
      ...(priority === undefined ? {} : { priority }),
      beforeCall: () => {
        log.push(name);
        return undefined;
      },
    });
    const chain = new Chain("c", [s("late", 200), s("none"), s("first", -5), s("tie", 0)]);
    chain.before(makeCall("s", "t", "f"));
    expect(log).toEqual(["first", "none", "tie", "late"]);
    expect(chain.strategies.map((x) => x.name)).toEqual(["first", "none", "tie", "late"]);
  });

  it("refuses a priority that is not a number", () => {
    expect(
      () => new Chain("c", [{ name: "p", priority: Number.NaN, afterCall() {} }]),
    ).toThrowError(/priority NaN/);
  });
});

describe("asynchronous strategies", () => {
  const waits = (name: string, d: () => ReturnType<typeof deny> | undefined): Strategy => ({
    name,
    async beforeCallAsync() {
      await tick();
      return d();
    },
  });

  it("a chain without one is synchronous; beforeAsync answers as before does", async () => {
    const chain = new Chain("sync", [{ name: "a", beforeCall: () => undefined }]);
    expect(chain.async).toBe(false);
    const call = makeCall("s", "t", "f");
    expect(chain.before(call)).toBe(ALLOW);
    expect(await chain.beforeAsync(call)).toBe(ALLOW);
  });

  it("awaits async judges in order with the chain's rules: block stops, strictest wins", async () => {
    const log: string[] = [];
    const seen = <T>(name: string, d: T) => {
      log.push(name);
      return d;
    };
    const chain = new Chain("a", [
      { name: "sync", beforeCall: () => seen("sync", undefined) },
      waits("warns", () => seen("warns", decide("warn", "careful", "warns"))),
      waits("blocks", () => seen("blocks", deny("no", "blocks"))),
      { name: "never", beforeCall: () => seen("never", undefined) },
    ]);
    expect(chain.async).toBe(true);
    const d = await chain.beforeAsync(makeCall("s", "t", "f"));
    expect(d).toMatchObject({ verdict: "block", by: "blocks" });
    expect(log).toEqual(["sync", "warns", "blocks"]);
    const soft = new Chain("b", [waits("w", () => decide("warn", "careful", "w"))]);
    expect(await soft.beforeAsync(makeCall("s", "t", "f"))).toMatchObject({ verdict: "warn" });
  });

  it("invokeAsync judges with the async hooks before running the target", async () => {
    let ran = false;
    const chain = new Chain("a", [waits("no", () => deny("no", "no"))]);
    const d = await chain.invokeAsync(makeCall("s", "t", "f"), () => {
      ran = true;
    });
    expect(d.verdict).toBe("block");
    expect(ran).toBe(false);
  });

  it("an async chain judged synchronously is refused, naming what must be awaited", () => {
    const chain = new Chain("a", [waits("review", () => undefined)]);
    expect(() => chain.before(makeCall("s", "t", "f"))).toThrowError(
      /Chain "a" is asynchronous \(review must be awaited\)/,
    );
    expect(() => chain.invoke(makeCall("s", "t", "f"), () => 1)).toThrowError(WardenError);
  });

  it("a strategy with both before hooks is refused at composition", () => {
    expect(
      () =>
        new Chain("c", [
          { name: "both", beforeCall: () => undefined, beforeCallAsync: async () => undefined },
        ]),
    ).toThrowError(/both beforeCall and beforeCallAsync/);
  });

  // On main, a judge written as `async beforeCall` returned a promise the chain read as "no
  // objection": its block never counted. Now anything that is not a decision refuses the call.
  it("a before hook that answers with a promise (an async judge in the sync hook) fails closed", () => {
    const sneaky = {
      name: "async-in-sync",
      beforeCall: (async () => deny("no", "async-in-sync")) as unknown as (c: Call) => undefined,
    };
    const chain = new Chain("c", [sneaky]);
    let ran = false;
    expect(() =>
      chain.invoke(makeCall("s", "t", "f"), () => {
        ran = true;
      }),
    ).toThrowError(/returned a promise/);
    expect(ran).toBe(false);
    const junk = new Chain("j", [{ name: "junk", beforeCall: () => ({ nope: 1 }) as never }]);
    expect(() => junk.before(makeCall("s", "t", "f"))).toThrowError(/not a decision/);
  });
});
