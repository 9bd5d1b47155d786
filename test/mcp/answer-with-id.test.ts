// An upstream's answer forwarded as is, with only its id replaced: the replacement is made only
// where a client's parser, whichever duplicate key it prefers, reads exactly the new id and
// nothing else changed; every other text is left to the serializing path (undefined).
import { describe, expect, it } from "vitest";
import { answerWithId } from "../../src/mcp/jsonrpc.js";

const result = { content: [{ type: "text", text: "hello" }] };
/** The TypeScript SDK's layout (JSON.stringify of { result, jsonrpc, id }). */
const ts = (id: number, r: unknown = result) => JSON.stringify({ result: r, jsonrpc: "2.0", id });
/** The Python SDK's layout (pydantic: jsonrpc, id, result). */
const py = (id: number, r: unknown = result) => JSON.stringify({ jsonrpc: "2.0", id, result: r });

/** The top-level "id" as a parser that keeps the FIRST of duplicate keys reads it. */
function firstId(text: string): unknown {
  const seen = new Set<string>();
  let id: unknown;
  // a scan of the top-level keys (the text is one object)
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const key = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      if (depth === 1 && text[i] === ":") {
        const start = i + 1;
        if (key === "id" && !seen.has("id")) {
          let e = start;
          while (!/[,}]/.test(text[e]!)) e++;
          id = JSON.parse(text.slice(start, e));
        }
        seen.add(key);
      }
      continue;
    }
    if (c === "{" || c === "[") depth++;
    if (c === "}" || c === "]") depth--;
    i++;
  }
  return id;
}

describe("answerWithId", () => {
  it("replaces the id in both SDK layouts, by a number or a string", () => {
    expect(answerWithId(ts(7), 7, 42)).toBe(ts(42));
    expect(answerWithId(py(7), 7, 42)).toBe(py(42));
    expect(JSON.parse(answerWithId(ts(123), 123, 'req-"1"')!)).toEqual({
      result,
      jsonrpc: "2.0",
      id: 'req-"1"',
    });
    expect(answerWithId(py(5), 5, "s")).toBe(
      `{"jsonrpc":"2.0","id":"s","result":${JSON.stringify(result)}}`,
    );
  });

  it('replaces it when "id" occurs only escaped inside a string (not a key there)', () => {
    const raw = ts(7, { content: [{ type: "text", text: 'a "id" b' }] });
    expect(raw).toContain('\\"id\\"');
    expect(answerWithId(raw, 7, 1)).toBe(ts(1, { content: [{ type: "text", text: 'a "id" b' }] }));
  });

  it("keeps every other byte of the answer (numbers a parse would round)", () => {
    const raw =
      '{"result":{"n":12345678901234567890,"x":1.50,"s":"caf\\u00e9"},"jsonrpc":"2.0","id":9}';
    expect(answerWithId(raw, 9, 1)).toBe(raw.replace('"id":9}', '"id":1}'));
  });

  it("refuses texts where a parser could read another id, or the id is elsewhere", () => {
    const refused = [
      // a second id key: first-wins and last-wins parsers disagree
      '{"id":3,"result":{},"jsonrpc":"2.0","id":7}',
      '{"jsonrpc":"2.0","id":7,"result":{},"id":3}',
      // the same with the key spelled with escapes
      '{"\\u0069d":3,"result":{},"jsonrpc":"2.0","id":7}',
      '{"i\\u0064":3,"result":{},"jsonrpc":"2.0","id":7}',
      // "id" inside the result: not provably absent from the top level, so not touched
      ts(7, { content: [{ type: "text", text: "x" }], id: 1 }),
      // another layout: id first, or id in the middle
      JSON.stringify({ id: 7, jsonrpc: "2.0", result }),
      JSON.stringify({ result, id: 7, jsonrpc: "2.0" }),
      // whitespace, pretty printing
      `${ts(7)} `,
      JSON.stringify({ result, jsonrpc: "2.0", id: 7 }, null, 1),
      // the id is not the one asked for, or is longer
      ts(70),
      ts(7).replace('"id":7}', '"id":7.5}'),
      // a key that only ends in "id"
      '{"result":{},"jsonrpc":"2.0","\\"id":7}',
    ];
    for (const raw of refused)
      expect({ raw, out: answerWithId(raw, 7, 1) }).toEqual({ raw, out: undefined });
  });

  it("on generated answers: every replacement parses to the answer with the new id, read alike first-wins", () => {
    let replaced = 0;
    const texts = ["plain", 'with "id" inside', "id", "\\u0069d", "naïve", ""];
    for (let n = 0; n < 400; n++) {
      const r: Record<string, unknown> = {
        content: [{ type: "text", text: texts[n % texts.length] }],
      };
      if (n % 7 === 0) r.id = n;
      if (n % 5 === 0) r.structuredContent = { value: n, "id ": "x" };
      const raw = n % 2 === 0 ? ts(n) : py(n);
      const out = answerWithId(raw, n, 1000 + n);
      if (out === undefined) continue;
      replaced++;
      expect(JSON.parse(out)).toEqual({ ...JSON.parse(raw), id: 1000 + n });
      expect(firstId(out)).toBe(1000 + n);
    }
    expect(replaced).toBeGreaterThan(100);
  });
});
