/**
 * The C example component (examples/components/c-files): compiled from C with clang
 * --target=wasm32-wasi against wasi-libc at test time, made a component with jco's preview 1
 * adapter (test/hosted/build.ts, cached by content hash), served by `warden serve` over stdio
 * and by the gateway as a `component:` upstream, called by a real SDK client. Its file calls
 * are plain fopen/fread/opendir: each reaches Warden as a wasi:filesystem call judged by the
 * policy, so the attacks below are what a C program would try.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { cliClient } from "./_serve.js";
import { C_MISSING, CACHE, cFilesComponent } from "./build.js";

if (C_MISSING) console.warn(C_MISSING);

const TMP = realpathSync(mkdtempSync(join(tmpdir(), "warden-c-files-")));
const DATA = join(TMP, "data");
const OUTSIDE = join(TMP, "outside");
const POLICY = join(TMP, "files-policy.yaml");
let file = "";

beforeAll(() => {
  if (C_MISSING) return;
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  mkdirSync(join(DATA, "secret"), { recursive: true });
  mkdirSync(OUTSIDE);
  writeFileSync(join(DATA, "hello.txt"), "hello from the host\n");
  writeFileSync(join(DATA, "secret", "key.txt"), "TOP-SECRET-CONTENT\n");
  writeFileSync(join(OUTSIDE, "private.txt"), "PRIVATE-CONTENT\n");
  // A link planted inside the allowed directory, pointing out of it.
  symlinkSync(join(OUTSIDE, "private.txt"), join(DATA, "link.txt"));
  writeFileSync(
    POLICY,
    [
      'version: "1.0"',
      "storage:",
      "  allow:",
      `    - { uri: "fs://${DATA}/**", access: [read, write] }`,
      "  deny:",
      `    - { uri: "fs://${DATA}/secret/**" }`,
      "resources:",
      "  limits:",
      "    memory: 16Mi",
      "    execution_time: 2s",
      "",
    ].join("\n"),
  );
  file = cFilesComponent();
}, 180_000);

type Answer = {
  structuredContent?: { result?: unknown };
  isError?: boolean;
  content: { text: string }[];
};

const connect = (args: string[]) => cliClient(args, "c-files-test");

const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args })) as unknown as Answer;

describe.skipIf(C_MISSING !== undefined)("a C component (wasi-libc) as MCP tools", () => {
  it("warden serve lists its tools and the C code reads, writes and lists the allowed directory", {
    timeout: 120_000,
  }, async () => {
    const c = await connect(["serve", file, "--policy", POLICY, "--workers", "1"]);
    try {
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([
        "files.list-dir",
        "files.read",
        "files.words",
        "files.write",
      ]);
      expect(tools.find((t) => t.name === "files.read")?.description).toBe(
        "Reads a text file (at most 64 KiB) and returns its content.",
      );
      expect(
        (await call(c, "files.words", { text: " one two\tthree\n" })).structuredContent,
      ).toEqual({ result: 3 });
      expect(
        (await call(c, "files.read", { path: join(DATA, "hello.txt") })).structuredContent,
      ).toEqual({ result: "hello from the host\n" });
      const w = await call(c, "files.write", { path: join(DATA, "new.txt"), text: "from C" });
      expect(w.structuredContent).toEqual({ result: 6 });
      expect(readFileSync(join(DATA, "new.txt"), "utf8")).toBe("from C");
      const ls = await call(c, "files.list-dir", { dir: DATA });
      expect(ls.structuredContent).toEqual({
        result: ["hello.txt", "link.txt", "new.txt", "secret"],
      });
    } finally {
      await c.close();
    }
  });

  it("refuses what the policy does not allow: /etc/passwd, ../ escapes, a denied folder, a planted link", {
    timeout: 120_000,
  }, async () => {
    const c = await connect(["serve", file, "--policy", POLICY, "--workers", "1"]);
    try {
      const refused = async (name: string, args: Record<string, unknown>, why: RegExp) => {
        const r = await call(c, name, args);
        expect(r.isError, JSON.stringify(r)).toBe(true);
        expect(r.content[0]!.text).toMatch(why);
        expect(r.content[0]!.text).not.toMatch(/root:|SECRET-CONTENT|PRIVATE-CONTENT/);
      };
      // No preopen covers /etc: wasi-libc finds no directory to open it from.
      await refused("files.read", { path: "/etc/passwd" }, /Capabilities insufficient/);
      await refused(
        "files.read",
        { path: `${DATA}/../outside/private.txt` },
        /Operation not permitted/,
      );
      await refused("files.read", { path: `${DATA}/../../../../etc/passwd` }, /not permitted/);
      // Inside the allowed tree, but a deny rule covers it: the policy's `access` error.
      await refused("files.read", { path: join(DATA, "secret", "key.txt") }, /Permission denied/);
      await refused(
        "files.write",
        { path: join(DATA, "secret", "key.txt"), text: "overwritten" },
        /Permission denied/,
      );
      await refused("files.list-dir", { dir: join(DATA, "secret") }, /Permission denied/);
      // The link is inside; what it points to is not.
      await refused("files.read", { path: join(DATA, "link.txt") }, /denied|not permitted/);
      await refused(
        "files.write",
        { path: join(DATA, "link.txt"), text: "overwritten" },
        /denied|not permitted/,
      );
      expect(readFileSync(join(DATA, "secret", "key.txt"), "utf8")).toBe("TOP-SECRET-CONTENT\n");
      expect(readFileSync(join(OUTSIDE, "private.txt"), "utf8")).toBe("PRIVATE-CONTENT\n");
      // The component is unharmed: the next call works.
      expect((await call(c, "files.read", { path: join(DATA, "hello.txt") })).isError).toBeFalsy();
    } finally {
      await c.close();
    }
  });

  it("works as a gateway `component:` upstream, judged by the gateway's policy too", {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(TMP, "gw-"));
    // A host call is granted only when both policies allow it: the gateway's names the folder too.
    writeFileSync(
      join(dir, "policy.yaml"),
      [
        'version: "1.0"',
        "mcp:",
        "  transport: { stdio: true }",
        "  tools:",
        '    allow: ["files.read", "files.words"]',
        "storage:",
        "  allow:",
        `    - { uri: "fs://${DATA}/**", access: [read] }`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "warden.yaml"),
      `listen: stdio\npolicy: ./policy.yaml\nupstreams:\n  - name: files\n    component: ${JSON.stringify(file)}\n    policy: ${JSON.stringify(POLICY)}\n`,
    );
    const c = await connect(["gateway", "--config", join(dir, "warden.yaml")]);
    try {
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["files.read", "files.words"]);
      expect(
        (await call(c, "files.read", { path: join(DATA, "hello.txt") })).structuredContent,
      ).toEqual({ result: "hello from the host\n" });
      expect((await call(c, "files.words", { text: "a b" })).structuredContent).toEqual({
        result: 2,
      });
      // The component's own policy still confines it.
      const r = await call(c, "files.read", { path: join(DATA, "secret", "key.txt") });
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/Permission denied/);
      // The gateway's policy refuses a tool it does not allow, as for any upstream.
      await expect(
        c.callTool({ name: "files.write", arguments: { path: join(DATA, "x"), text: "x" } }),
      ).rejects.toThrow(/files\.write/);
    } finally {
      await c.close();
    }
  });
});
