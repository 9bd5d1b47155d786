/** Every WIT value type has a JSON Schema (docs/hosted-tools.md) and converts to jco's values exactly. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { fromJs, toJs } from "../../src/hosted/convert.js";
import { toolOf } from "../../src/hosted/tools.js";
import { readComponentWit } from "../../src/hosted/wit/parse.js";
import { ROOT } from "../mcp/helpers.js";

const WIT = join(ROOT, "examples", "components", "kitchen", "kitchen.wit");
const ROOT_WORLD = `package root:component;

world root {
  export add: func(a: s32, b: s32) -> s32;
  export warden:kitchen/types@0.1.0;
}
`;
const doc = readComponentWit(ROOT_WORLD, [{ file: WIT, text: readFileSync(WIT, "utf8") }]);
const tools = new Map(
  doc.exports.map((f) => [toolOf("kitchen", WIT, f).name, toolOf("kitchen", WIT, f)]),
);
const fns = new Map(doc.exports.map((f) => [toolOf("kitchen", WIT, f).name, f]));
const ajv = new Ajv({ strict: false });

function param(tool: string, name: string) {
  return (tools.get(tool)!.inputSchema.properties as Record<string, Record<string, unknown>>)[
    name
  ]!;
}
function valid(tool: string, args: unknown): boolean {
  return ajv.validate(tools.get(tool)!.inputSchema, args) as boolean;
}

describe("WIT -> JSON Schema", () => {
  it("names tools interface.function (world functions bare) with their doc comments", () => {
    expect([...tools.keys()].sort()).toEqual(
      [
        "add",
        "types.half",
        "types.ints",
        "types.noop",
        "types.options",
        "types.origin",
        "types.results",
        "types.scalars",
        "types.shapes",
      ].sort(),
    );
    expect(tools.get("types.ints")!.description).toBe("Echo every integer type.");
    expect(tools.get("types.noop")!.outputSchema).toBeUndefined();
  });

  it("maps integers with their bounds, 64-bit ones as integers or digit strings", () => {
    expect(param("types.ints", "a")).toEqual({ type: "integer", minimum: 0, maximum: 255 });
    expect(param("types.ints", "e")).toEqual({ type: "integer", minimum: -128, maximum: 127 });
    expect(param("types.ints", "g")).toEqual({
      type: "integer",
      minimum: -2147483648,
      maximum: 2147483647,
    });
    const ints = {
      a: 255,
      b: 65535,
      c: 4294967295,
      d: "18446744073709551615",
      e: -128,
      f: -32768,
      g: -2147483648,
      h: "-9223372036854775808",
    };
    expect(valid("types.ints", ints)).toBe(true);
    expect(valid("types.ints", { ...ints, a: 256 })).toBe(false);
    expect(valid("types.ints", { ...ints, d: -1 })).toBe(false);
    expect(valid("types.ints", { ...ints, d: "1e3" })).toBe(false);
  });

  it("maps floats (with NaN and infinities as strings), char, bool and string", () => {
    expect(valid("types.scalars", { a: 1.5, b: "NaN", c: "é", d: true, e: "x" })).toBe(true);
    expect(valid("types.scalars", { a: 1.5, b: 2, c: "ab", d: true, e: "x" })).toBe(false);
    expect(valid("types.scalars", { a: 1.5, b: 2, c: "😀", d: true, e: "x" })).toBe(true);
  });

  it("maps records, variants, enums and flags", () => {
    const ok = {
      p: { x: 1, y: 2 },
      s: { tag: "rect", val: { x: 1, y: 2 } },
      c: "dark-blue",
      f: { read: true },
    };
    expect(valid("types.shapes", ok)).toBe(true);
    expect(valid("types.shapes", { ...ok, p: { x: 1 } })).toBe(false);
    expect(valid("types.shapes", { ...ok, s: { tag: "nothing" } })).toBe(true);
    expect(valid("types.shapes", { ...ok, s: { tag: "nothing", val: 1 } })).toBe(false);
    expect(valid("types.shapes", { ...ok, c: "blue" })).toBe(false);
    expect(valid("types.shapes", { ...ok, f: { root: true } })).toBe(false);
    expect(param("types.shapes", "p")).toMatchObject({
      properties: { x: { description: "Horizontal." } },
    });
  });

  it("maps options (nested ones tagged), lists, tuples and results", () => {
    expect(valid("types.options", { c: [], d: [0, 255] })).toBe(true);
    expect(
      valid("types.options", { a: null, b: { tag: "some", val: null }, c: ["x"], d: [] }),
    ).toBe(true);
    expect(valid("types.options", { b: 3, c: [], d: [] })).toBe(false);
    expect(valid("types.options", { c: [], d: [256] })).toBe(false);
    expect(
      valid("types.results", {
        a: { tag: "ok", val: 1 },
        b: { tag: "err" },
        c: { tag: "err", val: "red" },
      }),
    ).toBe(true);
    expect(valid("types.results", { a: { tag: "ok" }, b: { tag: "err" }, c: { tag: "ok" } })).toBe(
      false,
    );
    expect(tools.get("types.ints")!.outputSchema).toMatchObject({
      properties: { result: { type: "array", minItems: 8, maxItems: 8 } },
    });
  });

  it("converts JSON to jco's values and back exactly (bigint, typed arrays, camelCase, tags)", () => {
    const f = fns.get("types.ints")!;
    const js = f.params.map((p, i) =>
      toJs(
        p.type,
        [1, 2, 3, "18446744073709551615", -1, -2, -3, "-9223372036854775808"][i],
        p.name,
      ),
    );
    expect(js[3]).toBe(18446744073709551615n);
    expect(js[7]).toBe(-9223372036854775808n);
    expect(fromJs(f.result!, js)).toEqual([
      1,
      2,
      3,
      "18446744073709551615",
      -1,
      -2,
      -3,
      "-9223372036854775808",
    ]);
    const o = fns.get("types.options")!;
    const d = toJs(o.params[3]!.type, [1, 2], "d");
    expect(d).toBeInstanceOf(Uint8Array);
    expect(toJs(o.params[1]!.type, null, "b")).toEqual({ tag: "none" });
    expect(toJs(o.params[1]!.type, { tag: "some", val: 7 }, "b")).toEqual({ tag: "some", val: 7 });
    expect(toJs(o.params[0]!.type, null, "a")).toBeUndefined();
    const s = fns.get("types.shapes")!;
    expect(toJs(s.params[3]!.type, { read: true }, "f")).toEqual({
      read: true,
      write: false,
      exec: false,
    });
    expect(fromJs(s.params[1]!.type, { tag: "circle", val: Number.POSITIVE_INFINITY })).toEqual({
      tag: "circle",
      val: "Infinity",
    });
    expect(() => toJs({ kind: "prim", name: "u64" }, "18446744073709551616", "x")).toThrow(
      /out of range/,
    );
  });
});
