import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../../mcp/helpers.js";
import { CACHE } from "../build.js";
import { linkedTree, SWAP, SWAP_DIR, startSwapping, stopSwapping } from "./_swapper.js";
import { wasiComponent } from "./components.js";
import { deniedFolderHost, deniedFolderPolicy, deniedFolderTree } from "./helpers.js";

let reader: string;

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  reader = await wasiComponent("racereader");
}, 120_000);

afterEach(stopSwapping);

/** How often each value came back over `times` attempts; an attempt that throws (refused, or
 * missing mid-swap) counts nothing. */
function tally<K>(times: number, attempt: () => readonly K[]): Map<K, number> {
  const seen = new Map<K, number>();
  for (let i = 0; i < times; i++) {
    let got: readonly K[];
    try {
      got = attempt();
    } catch {
      continue;
    }
    for (const k of got) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return seen;
}

describe("wasi:filesystem: a link swapped between Warden's check and the open", () => {
  it("never hands the component the denied file (the opened file is verified)", {
    timeout: 300_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-", {
      "pub/f.txt": "public",
      "team/private/f.txt": "SECRET",
    });
    const policyFile = join(allowed, "..", "policy.yaml");
    const auditFile = join(allowed, "..", "audit.jsonl");
    // The deadline a call may take is the largest there is: under a loaded machine a call of
    // many opens can be slow, and a call that timed out would say nothing about the race.
    writeFileSync(
      policyFile,
      `${deniedFolderPolicy(allowed)}resources:\n  limits:\n    execution_time: 30s\n`,
    );
    const t = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", reader, "--policy", policyFile, "--workers", "1", "--audit", auditFile],
      env: { ...process.env, WARDEN_CACHE_DIR: CACHE } as Record<string, string>,
      stderr: "pipe",
    });
    const c = new Client({ name: "wasi-fs-race", version: "1" });
    await c.connect(t);
    const TIMES = 1000;
    const refusedLines = () =>
      readFileSync(auditFile, "utf8")
        .split("\n")
        .filter((l) => l.includes("team/private") && l.includes("policy.yaml:"));
    try {
      const call = async () => {
        const answer = (await c.callTool({
          name: "tools.read-loop",
          arguments: { path: "d/f.txt", times: TIMES },
        })) as {
          structuredContent?: { result?: { other: number; secret: number; failed: number } };
        };
        const r = answer.structuredContent?.result;
        expect(r, JSON.stringify(answer)).toBeDefined();
        return r!;
      };
      // Before the swapping starts: the allowed file, every time.
      expect(await call()).toEqual({ other: TIMES, secret: 0, failed: 0 });
      await startSwapping(SWAP, allowed);
      // At least 40,000 reads, and on until the swap was seen (some opens refused, audited with
      // the deny rule): a loaded machine may run the swapper seldom. Bounded.
      const seen = { other: 0, secret: 0, failed: 0 };
      for (let i = 0; i < 200 && seen.secret === 0; i++) {
        const r = await call();
        seen.other += r.other;
        seen.secret += r.secret;
        seen.failed += r.failed;
        if (i >= 39 && seen.failed > 0 && seen.other > 0 && refusedLines().length > 0) break;
      }
      // The swap was seen (some opens refused), the allowed file was still read, and the
      // denied one never came back.
      expect(seen.secret).toBe(0);
      expect(seen.failed).toBeGreaterThan(0);
      expect(seen.other).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
    // Each refusal is audited with the deny rule: a read-only open of a regular file opens the
    // judged canonical path itself (src/hosted/wasi/own-file.ts), so re-pointing `d` changes
    // which file is judged, never which file is opened; an open through the shim whose file was
    // swapped is refused as "changed while it was opened", naming the rule it would escape.
    expect(refusedLines().length).toBeGreaterThan(0);
  });

  it("an unlink through the swapped link never removes a file in the denied folder (its folder is opened and verified)", {
    timeout: 180_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-unlink-", {});
    const { data, events } = deniedFolderHost(allowed, "read, write");
    const secret = join(allowed, "team", "private", "f.txt");
    await startSwapping(SWAP, allowed);
    let removed = 0;
    let unlinked = 0;
    for (let i = 0; i < 20_000; i++) {
      writeFileSync(join(allowed, "pub", "f.txt"), "public");
      if (!existsSync(secret)) writeFileSync(secret, "SECRET");
      try {
        data.unlinkFileAt("d/f.txt");
        unlinked++;
      } catch {
        // refused (the link led to the denied folder), or the entry was missing
      }
      if (!existsSync(secret)) removed++;
    }
    expect(unlinked).toBeGreaterThan(0);
    expect(events.some((e) => e.decision === "deny")).toBe(true);
    expect(removed).toBe(0);
  });

  it("a set-times-at through the swapped link never touches a file in the denied folder (its folder is opened and verified)", {
    timeout: 180_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-times-", {
      "pub/f.txt": "public",
      "team/private/f.txt": "SECRET",
    });
    const { data, events } = deniedFolderHost(allowed, "read, write");
    const secret = join(allowed, "team", "private", "f.txt");
    const before = statSync(secret).mtimeMs;
    const at = { tag: "timestamp", val: { seconds: 1000n, nanoseconds: 0 } };
    await startSwapping(SWAP, allowed);
    const set = tally(20_000, () => {
      data.setTimesAt({ symlinkFollow: true }, "d/f.txt", at, at);
      return ["set"];
    });
    expect(set.get("set") ?? 0).toBeGreaterThan(0);
    expect(events.some((e) => e.decision === "deny")).toBe(true);
    expect(statSync(secret).mtimeMs).toBe(before);
  });

  it("a stat-at through the swapped link never reports the denied file (its folder is opened and verified)", {
    timeout: 180_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-stat-", {
      "pub/f.txt": "public",
      "team/private/f.txt": "SECRET, longer",
    });
    const { data } = deniedFolderHost(allowed);
    await startSwapping(SWAP, allowed);
    const sizes = tally(20_000, () => [
      (data.statAt({ symlinkFollow: true }, "d/f.txt") as { size: bigint }).size,
    ]);
    expect(sizes.get(6n) ?? 0).toBeGreaterThan(0); // "public"
    expect(sizes.get(14n) ?? 0).toBe(0); // "SECRET, longer"
  });

  it("an open of a path whose own folder is swapped for a link never reads the denied file (the parent is verified)", {
    timeout: 180_000,
  }, async () => {
    const allowed = deniedFolderTree("warden-wasi-race-dir-", {
      "pub/f.txt": "public",
      "team/private/f.txt": "SECRET",
    });
    const { data } = deniedFolderHost(allowed);
    await startSwapping(SWAP_DIR, allowed);
    const seen = tally(20_000, () => {
      const f = data.openAt({ symlinkFollow: true }, "pub/f.txt", {}, { read: true });
      return [new TextDecoder().decode((f.read(16n, 0n) as [Uint8Array, boolean])[0])];
    });
    expect(seen.get("public") ?? 0).toBeGreaterThan(0);
    expect(seen.get("SECRET") ?? 0).toBe(0);
  });

  it("read-directory on an opened folder never lists the denied folder swapped in for it", {
    timeout: 180_000,
  }, async () => {
    const allowed = deniedFolderTree("warden-wasi-race-ls-", {
      "pub/a.txt": "public",
      "team/private/secret-name.txt": "SECRET",
    });
    const { data } = deniedFolderHost(allowed);
    await startSwapping(SWAP_DIR, allowed);
    const names = tally(5_000, () => {
      const dir = data.openAt({}, "pub", { directory: true }, { read: true });
      const listed: string[] = [];
      for (let k = 0; k < 4; k++) {
        try {
          const stream = dir.readDirectory() as {
            readDirectoryEntry(): { name: string } | undefined;
          };
          for (
            let e = stream.readDirectoryEntry();
            e !== undefined;
            e = stream.readDirectoryEntry()
          )
            listed.push(e.name);
        } catch {
          // refused: the folder was swapped since it was opened
        }
      }
      return listed;
    });
    expect(names.get("a.txt") ?? 0).toBeGreaterThan(0);
    expect(names.get("secret-name.txt") ?? 0).toBe(0);
  });
});
