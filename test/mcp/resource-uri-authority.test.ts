/**
 * Resource URIs are judged as the upstream reads them (issue 18, 1b): behind allow `notes://**`
 * and deny `notes://private/**`, `notes://private/../diary` is the private diary to the SDK's
 * McpServer (it looks a read up by `new URL(uri).toString()`), so it is denied. Real SDK server
 * over stdio, real SDK client over HTTP.
 */
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { httpClient, ROOT, startGateway, tempDir, writeGatewayFiles } from "./helpers.js";

const NOTES_SERVER = join(ROOT, "test/fixtures/mcp-server/notes-server.mjs");

describe("notes:// resources behind allow notes://** and deny notes://private/**", () => {
  let gw: Gateway;
  let c: Client;
  beforeAll(async () => {
    const file = writeGatewayFiles(
      tempDir(),
      `listen:\n  http: { host: 127.0.0.1, port: 0 }\npolicy: policy.yaml\nupstreams:\n  - name: notes\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(NOTES_SERVER)}]\n`,
      `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  resources:
    allow: ["notes://**"]
    deny: ["notes://private/**"]
`,
    );
    ({ gw } = await startGateway(file));
    c = await httpClient(`http://127.0.0.1:${gw.address!.port}/mcp`);
  });
  afterAll(async () => {
    await c?.close();
    await gw?.stop();
  });

  const read = async (uri: string) => {
    try {
      const r = await c.readResource({ uri });
      return { ok: true, text: r.contents.map((x) => ("text" in x ? x.text : "")).join("") };
    } catch (e) {
      return { ok: false, text: (e as Error).message };
    }
  };

  it("control: public notes and the top-level diary are read", async () => {
    expect(await read("notes://public/hello")).toEqual({
      ok: true,
      text: "hello from the public note",
    });
    expect(await read("notes://diary")).toEqual({ ok: true, text: "the top-level diary" });
  });

  it.each([
    "notes://private/diary",
    "notes://private/../diary",
    "notes://private/%2e%2e/diary",
    "notes://private/x/../diary",
  ])("%s is denied (the server would read the private diary)", async (uri) => {
    const r = await read(uri);
    expect(r.ok, JSON.stringify(r)).toBe(false);
    expect(r.text).not.toContain("private note");
  });
});
