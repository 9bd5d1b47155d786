/** `warden init`'s pure parts: upstream names, path arguments, comment text. */
import { describe, expect, it } from "vitest";
import { escapeName, oneLine, pathKind } from "../../src/cli/init/classify.js";
import {
  nameFromCommand,
  nameFromUrl,
  sanitizeName,
  uniqueNames,
} from "../../src/cli/init/spec.js";

describe("warden init names an upstream by the server in its command", () => {
  it.each([
    ["npx", ["-y", "@modelcontextprotocol/server-filesystem", "./data"], "filesystem"],
    ["npx", ["-y", "@modelcontextprotocol/server-memory@2026.8.31"], "memory"],
    [
      "node",
      ["node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/d"],
      "filesystem",
    ],
    ["uvx", ["mcp-server-git", "--repository", "."], "git"],
    ["npx", ["-y", "github-mcp"], "github"],
    ["python", ["weather.py"], "weather"],
    ["/usr/local/bin/my_tool", [], "my-tool"],
  ])("%s %j -> %s", (command, args, name) => {
    expect(nameFromCommand(command, args)).toBe(name);
  });

  it("an HTTP server by its host, an address as http", () => {
    expect(nameFromUrl(new URL("https://api.search.example.com/mcp"))).toBe("search");
    expect(nameFromUrl(new URL("http://127.0.0.1:9000/mcp"))).toBe("http");
  });

  it("names can prefix URIs (a letter, then letters, digits, -) and are unique", () => {
    expect(sanitizeName("My_Server 2")).toBe("my-server-2");
    expect(sanitizeName("42")).toBe("server");
    expect(uniqueNames([{ name: "a" }, { name: "a" }, { name: "a" }]).map((s) => s.name)).toEqual([
      "a",
      "a-2",
      "a-3",
    ]);
  });
});

describe("warden init finds path arguments", () => {
  it.each([
    ["path", { type: "string" }, "string"],
    ["paths", { type: "array", items: { type: "string" } }, "array"],
    ["filePath", { type: "string" }, "string"],
    ["output_dir", { type: "string" }, "string"],
    ["destination", { type: "string" }, "string"],
    ["target", { type: "string", format: "uri" }, "string"],
    ["pattern", { type: "string" }, undefined],
    ["path", { type: "number" }, undefined],
    ["filename_prefix_len", { type: "string" }, undefined],
  ])("%s %j -> %s", (name, schema, kind) => {
    expect(pathKind(name, schema)).toBe(kind);
  });
});

describe("warden init writes names and descriptions safely", () => {
  it("a name's glob characters match only themselves; a description is one line", () => {
    expect(escapeName("a*b?[c]{d}")).toBe("a[*]b[?][[]c[]][{]d[}]");
    expect(oneLine("a\nb:\r\n  c\u2028d\u0000e")).toBe("a b: c d e");
    expect(oneLine("x".repeat(300), 10)).toHaveLength(10);
  });
});
