/**
 * Paths follow the file system (issue 18, 1 and 1b) with the real
 * `@modelcontextprotocol/server-filesystem` as a stdio upstream and a real SDK client: a path
 * rule cannot be walked around through a symbolic link (file or directory), by listing a link,
 * or with a backslash, which POSIX reads as part of a name. The client sends no roots: the
 * server serves the whole data directory, only the gateway's policy stands in the way.
 */
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import {
  type ClientLog,
  httpClient,
  startGateway,
  tempDir,
  until,
  writeGatewayFiles,
} from "./helpers.js";

const FS_SERVER = createRequire(import.meta.url).resolve(
  "@modelcontextprotocol/server-filesystem/dist/index.js",
);
const dir = realpathSync(tempDir());
const data = join(dir, "data");
const pub = join(data, "pub");
const secret = join(data, "secret");
mkdirSync(pub, { recursive: true });
mkdirSync(secret);
writeFileSync(join(pub, "a.txt"), "public a");
writeFileSync(join(pub, "b.txt"), "public b");
writeFileSync(join(secret, "s.txt"), "TOP SECRET");
symlinkSync("../secret/s.txt", join(pub, "link.txt"));
symlinkSync(secret, join(pub, "dirlink"));

const gateways: Gateway[] = [];
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all(gateways.map((g) => g.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function upstream(name: string, extra = ""): string {
  const args = [FS_SERVER, data].map((a) => JSON.stringify(a)).join(", ");
  return `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${args}]\n${extra}`;
}

async function gateway(sub: string, upstreams: string, policy: string): Promise<string> {
  const d = join(dir, sub);
  mkdirSync(d);
  const file = writeGatewayFiles(
    d,
    `listen:\n  http: { host: 127.0.0.1, port: 0 }\npolicy: policy.yaml\nupstreams:\n${upstreams}`,
    policy,
  );
  const { gw, url } = await startGateway(file);
  gateways.push(gw);
  return url;
}

/** A plain SDK client: no roots capability (the server keeps its command-line directory). */
async function plainClient(url: string): Promise<Client> {
  const c = new Client({ name: "paths-test", version: "1.0.0" });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(c);
  return c;
}

type Outcome = { ok: true; text: string } | { ok: false; message: string };
async function call(c: Client, name: string, args: Record<string, unknown>): Promise<Outcome> {
  try {
    const r = (await c.callTool({ name, arguments: args })) as {
      content: { text?: string }[];
      isError?: boolean;
    };
    const text = r.content.map((x) => x.text ?? "").join("");
    return r.isError ? { ok: false, message: text } : { ok: true, text };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

function denied(o: Outcome): string {
  expect(o.ok, JSON.stringify(o)).toBe(false);
  const m = (o as { message: string }).message;
  expect(m).not.toContain("TOP SECRET");
  expect(m).not.toContain("s.txt\n"); // no directory listing of the secret folder
  return m;
}

const PATH_POLICY = `version: "1.0"
storage:
  allow:
    - uri: "${pub}/**"
      access: [read]
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - name: read_text_file
        parameters: { path: "${pub}/**" }
      - name: list_directory
        parameters: { path: "${pub}/**" }
      - list_allowed_directories
`;

describe("server-filesystem behind the gateway: a path rule holds", () => {
  let c: Client;
  let url: string;
  beforeAll(async () => {
    url = await gateway("one", upstream("fs"), PATH_POLICY);
    c = await plainClient(url);
  });

  it("control: a real file inside the allowed tree is read", async () => {
    expect(await call(c, "read_text_file", { path: join(pub, "a.txt") })).toEqual({
      ok: true,
      text: "public a",
    });
    const list = await call(c, "list_directory", { path: pub });
    expect(list.ok && list.text).toContain("a.txt");
  });

  it("a file symlink out of the tree is denied", async () => {
    const m = denied(await call(c, "read_text_file", { path: join(pub, "link.txt") }));
    expect(m).toContain(`resolves through symbolic links to "${join(secret, "s.txt")}"`);
  });

  it("a path through a directory symlink is denied", async () => {
    denied(await call(c, "read_text_file", { path: join(pub, "dirlink", "s.txt") }));
  });

  it("list_directory of a directory symlink is denied", async () => {
    denied(await call(c, "list_directory", { path: join(pub, "dirlink") }));
  });

  it("a backslash segment cannot walk out: read and list are denied", async () => {
    // POSIX: `pub\x` is one name, so `..` after it is `data`: the server reads data/secret/s.txt.
    const m = denied(await call(c, "read_text_file", { path: `${pub}\\x/../secret/s.txt` }));
    expect(m).toMatch(/backslash/);
    denied(await call(c, "list_directory", { path: `${pub}\\x/..` }));
  });

  it("roots: a root that is a link out of the storage rules is removed before it reaches the server", async () => {
    const log: ClientLog = {
      roots: [
        { uri: `file://${pub}`, name: "pub" },
        { uri: `file://${pub}/dirlink`, name: "looks like pub" },
      ],
      notifications: [],
    };
    const rc = await httpClient(url, log);
    clients.push(rc);
    // The server replaces its directories with the roots it is sent, once initialized.
    let dirs = "";
    await until(
      async () => {
        const r = await call(rc, "list_allowed_directories", {});
        dirs = r.ok ? r.text : "";
        return dirs.includes(pub) && !dirs.includes(data + "\n");
      },
      10_000,
      "the server to take the client's roots",
    );
    expect(dirs).toContain(pub);
    expect(dirs).not.toContain(secret);
  });
});

describe("read_multiple_files with items, and paths: remote", () => {
  let c: Client;
  beforeAll(async () => {
    const url = await gateway(
      "two",
      `${upstream("local")}${upstream("remote", "    paths: remote\n")}`,
      `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - name: "*__read_multiple_files"
        parameters:
          paths: { items: "${pub}/**" }
      - name: "*__read_text_file"
        parameters: { path: "${pub}/**" }
`,
    );
    c = await plainClient(url);
  });

  it("reads several files when every path is inside", async () => {
    const r = await call(c, "local__read_multiple_files", {
      paths: [join(pub, "a.txt"), join(pub, "b.txt")],
    });
    expect(r.ok).toBe(true);
    expect(r.ok && r.text).toContain("public a");
    expect(r.ok && r.text).toContain("public b");
  });

  it("denies the call when one element is a link out, naming the element", async () => {
    const m = denied(
      await call(c, "local__read_multiple_files", {
        paths: [join(pub, "a.txt"), join(pub, "link.txt")],
      }),
    );
    expect(m).toMatch(/"paths" \[1\] is .*link\.txt", which resolves through symbolic links/);
    denied(
      await call(c, "local__read_multiple_files", { paths: [join(pub, "a.txt"), "/etc/passwd"] }),
    );
  });

  it("paths: remote judges the string (its files are not this host's), local resolves", async () => {
    const link = join(pub, "link.txt");
    denied(await call(c, "local__read_text_file", { path: link }));
    // Here the "remote" upstream happens to share this host's files, which shows the difference:
    // `remote` is for upstreams whose paths the gateway cannot see (docker run -i, a URL).
    expect(await call(c, "remote__read_text_file", { path: link })).toEqual({
      ok: true,
      text: "TOP SECRET",
    });
    denied(await call(c, "remote__read_text_file", { path: `${pub}\\x/../secret/s.txt` }));
  });
});
