import { describe, expect, it } from "vitest";
import { exitCodeFor, isWardenError, WardenError } from "../../src/core/errors.js";

describe("WardenError", () => {
  it("has a stable code, a message, a cause and details", () => {
    const cause = new Error("disk full");
    const e = new WardenError(
      "internal",
      "Could not write the audit file ./a.jsonl: free some space.",
      {
        cause,
        details: { file: "./a.jsonl" },
      },
    );
    expect(e.code).toBe("internal");
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({ file: "./a.jsonl" });
    expect(e.toLine()).toBe("internal: Could not write the audit file ./a.jsonl: free some space.");
    expect(e.toJSON()).toEqual({
      code: "internal",
      message: e.message,
      details: { file: "./a.jsonl" },
    });
  });

  it("instanceof works across duplicate copies of the package (src and the built dist are two copies)", async () => {
    const dist = (await import(
      "../../dist/core/errors.js"
    )) as typeof import("../../src/core/errors.js");
    expect(dist.WardenError).not.toBe(WardenError);
    const fromDist = new dist.WardenError("denied", "no", { category: "denied" });
    expect(fromDist).toBeInstanceOf(WardenError);
    expect(isWardenError(fromDist)).toBe(true);
    expect(new WardenError("usage", "x")).toBeInstanceOf(dist.WardenError);
    expect(new Error("plain")).not.toBeInstanceOf(WardenError);
    expect({ code: "usage", message: "fake" }).not.toBeInstanceOf(WardenError);
  });

  it("maps categories to the documented exit codes", () => {
    expect(exitCodeFor(new WardenError("denied", "x", { category: "denied" }))).toBe(1);
    expect(exitCodeFor(new WardenError("usage", "x", { category: "usage" }))).toBe(2);
    expect(exitCodeFor(new WardenError("policy_x", "x", { category: "config" }))).toBe(2);
    expect(exitCodeFor(new WardenError("trap", "x", { category: "plugin" }))).toBe(3);
    expect(exitCodeFor(new Error("bug"))).toBe(3);
  });
});
