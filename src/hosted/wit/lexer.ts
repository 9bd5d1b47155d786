/**
 * Tokens of WIT text as wasm-tools prints it for a component (`componentWit`). The text comes
 * from the component's binary type information through the standard printer, not from a user;
 * this lexer follows the WIT grammar's tokens (identifiers, `%`-escaped identifiers, versions,
 * punctuation, `///` and `/** *\/` doc comments) and refuses anything else, naming the line.
 */
export interface Token {
  readonly t: "id" | "punct" | "num" | "doc" | "eof";
  readonly v: string;
  readonly line: number;
}

const PUNCT = new Set(["{", "}", "(", ")", "<", ">", ",", ":", ";", "=", ".", "/", "@", "*", "_"]);

export class WitSyntaxError extends Error {}

function isIdStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}
function isIdChar(c: string): boolean {
  return isIdStart(c) || (c >= "0" && c <= "9") || c === "-";
}
function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

export function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      if (text[i + 2] === "/" && text[i + 3] !== "/")
        out.push({ t: "doc", v: text.slice(i + 3, stop).replace(/^ /, ""), line });
      i = stop;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new WitSyntaxError(`line ${line}: unterminated comment`);
      const body = text.slice(i + 2, end);
      if (body.startsWith("*") && !body.startsWith("**"))
        out.push({
          t: "doc",
          v: body
            .slice(1)
            .split("\n")
            .map((l) => l.replace(/^\s*\*? ?/, ""))
            .join("\n")
            .trim(),
          line,
        });
      for (const ch of body) if (ch === "\n") line++;
      i = end + 2;
      continue;
    }
    if (c === "-" && text[i + 1] === ">") {
      out.push({ t: "punct", v: "->", line });
      i += 2;
      continue;
    }
    if (c === "%" || isIdStart(c)) {
      let j = c === "%" ? i + 1 : i;
      const start = j;
      while (j < n && isIdChar(text[j]!)) j++;
      if (j === start) throw new WitSyntaxError(`line ${line}: "%" without an identifier`);
      out.push({ t: "id", v: text.slice(start, j), line });
      i = j;
      continue;
    }
    if (isDigit(c)) {
      // A number or a semver (1.2.3-rc.1+build): one token.
      let j = i;
      while (j < n && (isIdChar(text[j]!) || text[j] === "." || text[j] === "+")) {
        if (text[j] === "." && !isIdChar(text[j + 1] ?? "")) break;
        j++;
      }
      out.push({ t: "num", v: text.slice(i, j), line });
      i = j;
      continue;
    }
    if (PUNCT.has(c)) {
      out.push({ t: "punct", v: c, line });
      i++;
      continue;
    }
    throw new WitSyntaxError(`line ${line}: unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ t: "eof", v: "", line });
  return out;
}
