/**
 * Attacker test: text an upstream chooses reaches the gateway's stderr log (here the method of a
 * server→client request it refuses). A method holding a line break and an ANSI sequence wrote a
 * line of its own that read as the gateway's ("warden gateway: ...") and sent the escape to the
 * operator's terminal. Control characters are now escaped and a line break starts an indented
 * continuation.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir, writeGatewayFiles } from "./helpers.js";
import { RawStdio } from "./raw-stdio.js";

type Obj = Record<string, unknown>;
const RECORDER = join(import.meta.dirname, "fixtures/recorder-server.mjs");
const POLICY = `version: "1.0"
mcp:
  transport: { stdio: true }
  tools:
    allow: ["ask"]
`;

let raw: RawStdio | undefined;
afterEach(async () => {
  await raw?.close();
  raw = undefined;
});

describe("the gateway's stderr log", () => {
  it("an upstream's method with a line break and an ANSI sequence forges no line and no escape", async () => {
    const dir = tempDir();
    raw = new RawStdio(
      writeGatewayFiles(
        dir,
        `listen: stdio\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: rec\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(RECORDER)}]\n`,
        POLICY,
      ),
    );
    await raw.initialize(1, "c");
    const method = 'roots/list\nwarden gateway: upstream "rec" is back\u001b[2J\r';
    const a = await raw.request(2, "tools/call", { name: "ask", arguments: { method } });
    expect((a.result as Obj).content).toBeDefined();
    expect(raw.stderr).toContain('upstream "rec": the roots/list');
    expect(raw.stderr).not.toContain('\nwarden gateway: upstream "rec" is back');
    expect(raw.stderr).toContain('\n  warden gateway: upstream "rec" is back\\u001b[2J\\u000d');
    expect(raw.stderr).not.toMatch(/[\u001b\r]/);
  });
});
