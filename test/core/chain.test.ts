import { describe, expect, it } from "vitest";
import { type Call, makeCall } from "../../src/core/call.js";
import { Chain } from "../../src/core/chain.js";
import { ALLOW, decide, deny } from "../../src/core/decision.js";
import { WardenError } from "../../src/core/errors.js";
import type { Strategy } from "../../src/core/strategy.js";

function recorder(name: string, log: string[], extra: Partial<Strategy> = {}): Strategy {
  return {
    name,
    beforeCall: (c: Call) => {
      log.push(`${name}:before:${c.phase}`);
      return undefined;
    },
    afterCall: (c: Call) => {
      log.push(`${name}:after:${c.phase}`);
    },
    ...extra,
  };
}

describe("chain composition", () => {
  it("an empty chain allows with the shared ALLOW decision and runs the target", () => {
    const chain = new Chain("empty");
    const call = makeCall("agent", "files", "read", { path: "/a" });
    expect(chain.before(call)).toBe(ALLOW);
    expect(chain.invoke(call, (args) => ({ got: args }))).toBe(ALLOW);
    expect(call.result).toEqual({ got: { path: "/a" } });
    expect(call.bypassed).toBeUndefined();
    expect(call.phase).toBe("after");
  });

  it("runs before hooks in order and after hooks in reverse order", () => {
    const log: string[] = [];
    const chain = new Chain("c", [recorder("a", log), recorder("b", log)]);
    chain.invoke(makeCall("s", "t", "f"), () => log.push("target"));
    expect(log).toEqual([
      "a:before:before",
      "b:before:before",
      "target",
      "b:after:after",
      "a:after:after",
    ]);
  });

  it("a block short-circuits: later strategies and the target do not run", () => {
    const log: string[] = [];
    const chain = new Chain("c", [
      recorder("first", log),
      { name: "wall", beforeCall: () => deny("no writes", "wall", "deny#1") },
      recorder("later", log),
    ]);
    let ran = false;
    const call = makeCall("s", "t", "write");
    const decision = chain.invoke(call, () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(call.result).toBeUndefined();
    expect(decision).toMatchObject({ verdict: "block", by: "wall", rule: "deny#1" });
    expect(log).toEqual(["first:before:before"]);
  });

  it("non-blocking verdicts combine and the strictest is returned; the call still runs", () => {
    const chain = new Chain("c", [
      { name: "a", beforeCall: () => decide("display", "show it", "a") },
      { name: "b", beforeCall: () => decide("warn", "odd", "b") },
      { name: "c", beforeCall: () => decide("suppress", "noise", "c") },
    ]);
    const call = makeCall("s", "t", "f");
    expect(chain.invoke(call, () => 42)).toMatchObject({ verdict: "warn", by: "b" });
    expect(call.result).toBe(42);
  });

  it("review holds the call: the target does not run", () => {
    const chain = new Chain("c", [
      { name: "r", beforeCall: () => decide("review", "needs a person", "r") },
    ]);
    let ran = false;
    const decision = chain.invoke(makeCall("s", "t", "f"), () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(decision.verdict).toBe("review");
  });

  it("beforeCall may rewrite the arguments the target receives", () => {
    const chain = new Chain("c", [
      {
        name: "clamp",
        beforeCall: (c) => {
          const a = c.args as { limit: number };
          if (a.limit > 10) c.args = { ...a, limit: 10 };
          return undefined;
        },
      },
    ]);
    const call = makeCall("s", "t", "list", { limit: 500 });
    chain.invoke(call, (args) => args);
    expect(call.result).toEqual({ limit: 10 });
  });

  it("afterCall may redact the result", () => {
    const chain = new Chain("c", [
      {
        name: "redact",
        afterCall: (c) => {
          c.result = String(c.result).replace(/\d{4}-\d{4}-\d{4}-\d{4}/g, "[card]");
        },
      },
    ]);
    const call = makeCall("s", "t", "f");
    chain.invoke(call, () => "card 4111-1111-1111-1111 ok");
    expect(call.result).toBe("card [card] ok");
  });

  it("a bypassing strategy skips the target; the result is what it supplied, else the arguments", () => {
    let ran = 0;
    const cache: Strategy = {
      name: "cache",
      shouldBypass: (c) => c.function === "cached",
      beforeCall: (c) => {
        if (c.function === "cached") c.result = "from cache";
        return undefined;
      },
    };
    const chain = new Chain("c", [cache]);
    const hit = makeCall("s", "t", "cached");
    chain.invoke(hit, () => ran++);
    expect(hit).toMatchObject({ bypassed: true, result: "from cache" });
    const echo = new Chain("e", [{ name: "skip", shouldBypass: () => true }]);
    const echoed = makeCall("s", "t", "f", [1, 2]);
    echo.invoke(echoed, () => ran++);
    expect(echoed.result).toEqual([1, 2]);
    expect(ran).toBe(0);
    const miss = makeCall("s", "t", "other");
    chain.invoke(miss, () => ran++);
    expect(miss.bypassed).toBeUndefined();
    expect(ran).toBe(1);
  });

  it("a target that throws: after hooks see the error, then it is rethrown", async () => {
    const seen: unknown[] = [];
    const chain = new Chain("c", [{ name: "obs", afterCall: (c) => void seen.push(c.error) }]);
    const boom = new Error("boom");
    expect(() =>
      chain.invoke(makeCall("s", "t", "f"), () => {
        throw boom;
      }),
    ).toThrow("boom");
    await expect(
      chain.invokeAsync(makeCall("s", "t", "f"), async () => Promise.reject(boom)),
    ).rejects.toThrow("boom");
    expect(seen).toEqual([boom, boom]);
  });

  it("invokeAsync awaits the target and applies after hooks", async () => {
    const chain = new Chain("c", [
      {
        name: "up",
        afterCall: (c) => {
          c.result = String(c.result).toUpperCase();
        },
      },
    ]);
    const call = makeCall("s", "t", "f");
    expect(await chain.invokeAsync(call, async () => "hi")).toBe(ALLOW);
    expect(call.result).toBe("HI");
  });

  it("is validated once at composition: bad strategies are refused with the chain and strategy named", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as WardenError;
      }
      throw new Error("expected an error");
    };
    const dup = err(
      () =>
        new Chain("x", [
          { name: "a", afterCall() {} },
          { name: "a", afterCall() {} },
        ]),
    );
    expect(dup).toBeInstanceOf(WardenError);
    expect(dup.code).toBe("invalid_strategy");
    expect(dup.message).toContain('two strategies are named "a"');
    expect(err(() => new Chain("x", [{ name: "idle" }])).message).toContain(
      '"idle" has no beforeCall',
    );
    expect(err(() => new Chain("x", [{ name: "", afterCall() {} }])).message).toContain(
      "strategy #0 has no name",
    );
    expect(err(() => new Chain("x", [{ name: "b", beforeCall: 5 as never }])).message).toContain(
      "not a function",
    );
    expect(err(() => new Chain("")).code).toBe("invalid_argument");
  });

  it("is frozen after composition", () => {
    const chain = new Chain("c", [{ name: "a", afterCall() {} }]);
    expect(Object.isFrozen(chain)).toBe(true);
    expect(Object.isFrozen(chain.strategies)).toBe(true);
    expect(chain.hasAfter).toBe(true);
    expect(new Chain("d").hasAfter).toBe(false);
  });
});
