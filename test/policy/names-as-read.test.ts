/**
 * The policy reads names as the upstream will (issue 18, 1b): a backslash is part of a POSIX
 * file name, so a path holding one is refused (it names different files for different readers);
 * a resource URI is read as `new URL` reads it, so `..` never eats the authority.
 */
import { describe, expect, it } from "vitest";
import { canonicalizePath } from "../../src/policy/canon/path.js";
import { canonicalizeResourceUri } from "../../src/policy/canon/url.js";
import { type CompiledPolicy, compilePolicy } from "../../src/policy/index.js";

function policy(src: string): CompiledPolicy {
  const r = compilePolicy(src, { file: "p.yaml" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const P = policy(`version: "1.0"
storage:
  allow:
    - uri: "/root/public/**"
      access: [read]
mcp:
  tools:
    allow:
      - name: read_text_file
        parameters:
          path: "/root/public/**"
  resources:
    allow:
      - "notes://**"
      - "mem:pub/**"
    deny:
      - "notes://private/**"
`);

const tool = (path: string) => ({ kind: "tool.call", name: "read_text_file", arguments: { path } });
const read = (uri: string) => ({ kind: "resource.read", uri });

describe("a backslash in a path is refused, never read as a separator", () => {
  const attack = "/root/public\\x/../secret/key.txt"; // POSIX opens /root/secret/key.txt

  it("denies the tool argument that escapes through a backslash segment", () => {
    const d = P.check(tool(attack));
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/backslash/);
  });

  it("denies the storage read too, with the reason", () => {
    const d = P.check({ kind: "storage.read", uri: attack });
    expect(d).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(d.reason).toMatch(/backslash/);
  });

  it.each([
    "/root/public\\x",
    "/root/public/a\\b",
    "/root/public/%41\\b",
    "/root/public/é\\b",
    "fs:///root/public/a\\b",
    "file:///root/public/a\\..\\..\\secret",
  ])("refuses %j in every lane", (p) => {
    const c = canonicalizePath(p);
    expect(c.ok).toBe(false);
    expect(!c.ok && c.reason).toMatch(/backslash/);
  });

  it("still allows plain paths inside the tree", () => {
    expect(P.check(tool("/root/public/x/../a.txt")).allowed).toBe(true);
    expect(P.check(tool("/root/public/sub/a.txt")).allowed).toBe(true);
  });

  it("refuses a pattern with a backslash at compile time", () => {
    const r = compilePolicy(`storage:\n  allow:\n    - uri: "/a\\\\b/**"\n      access: [read]\n`, {
      file: "b.yaml",
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.message).toMatch(/backslash/);
  });
});

describe("resource URIs are read as new URL reads them", () => {
  it.each([
    ["notes://private/../diary", "the .. stays in the path: private/diary"],
    ["notes://private/%2e%2e/diary", "an encoded .. is a dot segment for new URL"],
    ["notes://private/.%2E/diary", "a half-encoded .. too"],
    ["notes://PRIVATE/diary", "hosts compare case-insensitively"],
    ["NOTES://private/diary", "schemes compare case-insensitively"],
    ["notes://private/x/../../diary", "two .. stop at the path's root"],
    ["notes://private//diary", "a doubled slash"],
    ["notes://priv%61te/diary", "an escape in the host"],
    ["notes://private/diary?x=/../../public", "a query is not path: nothing resolves"],
  ])("denies %j (%s)", (uri) => {
    const d = P.check(read(uri));
    expect(d.allowed, JSON.stringify(d)).toBe(false);
  });

  it.each([
    ["notes://u@private/diary", /user info/],
    ["notes://pri\nvate/diary", /control/],
    ["notes://private/a%2fb", /percent-encodes/],
    ["notes://private/a\\..\\b", /backslash/],
    ["mem:pub/../secret", /opaque path/],
    ["mem:pub/./x", /opaque path/],
    ["notes://[x/", /not a valid URI/],
  ])("refuses %j", (uri, why) => {
    const d = P.check(read(uri));
    expect(d).toMatchObject({ allowed: false, code: "not_canonical" });
    expect(d.reason).toMatch(why);
  });

  it.each([
    "notes://public/diary",
    "notes://public/../public/x",
    "notes://private2/x",
    "mem:pub/x",
  ])("allows %j (control)", (uri) => {
    expect(P.check(read(uri)).allowed).toBe(true);
  });

  it("gives the canonical form new URL gives, host lower-cased and escapes decoded once", () => {
    const c = (u: string) => {
      const r = canonicalizeResourceUri(u);
      return r.ok ? `${r.value.scheme}:${r.value.rest}` : `refused: ${r.reason}`;
    };
    expect(c("notes://private/../diary")).toBe("notes://private/diary");
    expect(c("Notes://Host.Example/A/./B/")).toBe("notes://host.example/A/B");
    expect(c("notes://x/caf%C3%A9?q=%20#f")).toBe("notes://x/café?q=%20#f");
    expect(c("notes:/a/../b")).toBe("notes:/b");
    expect(c("notes:a/b")).toBe("notes:a/b");
    expect(c("notes://h:8080/x")).toBe("notes://h:8080/x");
    expect(c("http://EXAMPLE.com:80/a/../b")).toBe("http://example.com/b");
    expect(c("file:///a/../b")).toBe("file:/b");
  });
});
