/**
 * A component server follows only the files that matter (the component files, their WIT, the
 * policies), not the whole folder: a build writing other files beside the components (objects,
 * logs, a `.wasm.tmp` before its rename, a subfolder) causes no reload, no
 * notifications/tools/list_changed and no audit line; a real change (a new component renamed into
 * the folder, as a build does) still reloads, once. An in-process gateway with a folder upstream,
 * a real SDK client over HTTP; the components are WAT fixtures built at test time.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { componentServers } from "../../src/mcp/component-upstream.js";
import { auditLines } from "../mcp/audit-schema.js";
import { httpClient, startGateway, tempDir, until } from "../mcp/helpers.js";
import { hostileAndCounter, TOOLS_POLICY } from "./_hostile-counter.js";

let hostile: string;
let counter: string;

beforeAll(async () => {
  ({ hostile, counter } = await hostileAndCounter());
});

const settle = () => new Promise((r) => setTimeout(r, 600)); // past the 150 ms debounce

describe("a component folder busy with unrelated files", () => {
  it("unrelated files cause no reload, no list_changed, no audit line; a real change reloads once", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const tools = join(dir, "tools");
    mkdirSync(tools);
    copyFileSync(hostile.replace(/\.wasm$/, ".wit"), join(tools, "a.wit"));
    copyFileSync(hostile, join(tools, "a.wasm"));
    // the WIT of the component added later is there from the start (its change would reload)
    copyFileSync(counter.replace(/\.wasm$/, ".wit"), join(tools, "b.wit"));
    writeFileSync(join(dir, "policy.yaml"), TOOLS_POLICY);
    writeFileSync(
      join(dir, "warden.yaml"),
      "listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n  - name: calc\n    component: ./tools\n",
    );
    const { gw, url } = await startGateway(join(dir, "warden.yaml"));
    const notes: { method: string }[] = [];
    const c = await httpClient(url, { roots: [], notifications: notes });
    const audit = join(dir, "audit.jsonl");
    const reloadLines = () => auditLines(audit).filter((l) => l.kind === "component_reload");
    const listChanged = () =>
      notes.filter((n) => n.method === "notifications/tools/list_changed").length;
    try {
      expect((await c.listTools()).tools.map((t) => t.name).sort()).toEqual([
        "tools.bomb",
        "tools.ok",
        "tools.spin",
      ]);
      const hosted = await componentServers().find((s) => s.cfg.name === "calc")!.server;
      expect(hosted.reloads).toBe(0);

      // a build at work beside the components: none of these is a component or its WIT
      for (let i = 0; i < 20; i++) {
        writeFileSync(join(tools, `build-${i}.o`), `object ${i}`);
        writeFileSync(join(tools, "build.log"), `step ${i}\n`, { flag: "a" });
      }
      writeFileSync(join(tools, "c.wasm.tmp"), "half a component");
      mkdirSync(join(tools, ".cache"));
      writeFileSync(join(tools, ".cache", "x"), "x");
      await settle();
      expect(hosted.reloads).toBe(0);
      expect(listChanged()).toBe(0);
      expect(reloadLines()).toEqual([]);

      // a real change: a new component renamed into the folder
      copyFileSync(counter, join(tools, "b.wasm.tmp"));
      renameSync(join(tools, "b.wasm.tmp"), join(tools, "b.wasm"));
      await until(() => listChanged() === 1, 30_000, "tools/list_changed");
      await settle();
      expect(hosted.reloads).toBe(1);
      expect(listChanged()).toBe(1);
      expect(reloadLines()).toHaveLength(1);
      expect(reloadLines()[0]).toMatchObject({ upstream: "calc", decision: "allow" });
      expect((await c.listTools()).tools.map((t) => t.name)).toContain("tools.next");
      expect(
        (
          (await c.callTool({ name: "tools.next", arguments: {} })) as {
            structuredContent?: { result?: unknown };
          }
        ).structuredContent?.result,
      ).toBe(1);
    } finally {
      await c.close();
      await gw.stop();
    }
  });
});
