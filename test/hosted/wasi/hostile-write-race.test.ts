/**
 * The check-then-open race for opens that change a file as they open it: `truncate` empties
 * the file and `create` makes one, before anything can look at what was opened. A link inside
 * the preopen re-pointed between Warden's check and the open (another process, or another
 * instance of the component) must never let such an open empty, or create a file in, the
 * folder the policy denies: the change is made by Warden in the judged path's verified folder,
 * and only then is the file opened and verified.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deniedFolderHost, deniedFolderTree } from "./helpers.js";

let swapper: ChildProcess | undefined;
afterEach(() => {
  swapper?.kill("SIGKILL");
  swapper = undefined;
});

/** Re-point `<dir>/d` between `pub` and `team/private` (atomic renames) until killed. */
const SWAP = `
const { symlinkSync, renameSync, writeSync } = require("node:fs");
const dir = process.argv[1];
let n = 0;
for (;;) {
  const tmp = dir + "/.d" + (n & 1);
  symlinkSync(n++ & 1 ? "team/private" : "pub", tmp);
  renameSync(tmp, dir + "/d");
  if (n === 2) writeSync(1, "swapping\\n");
}`;

async function startSwapping(allowed: string): Promise<void> {
  const p = spawn(process.execPath, ["-e", SWAP, allowed], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  swapper = p;
  const [chunk] = (await Promise.race([
    once(p.stdout, "data"),
    once(p, "exit").then(([code]) => {
      throw new Error(`the swapper exited (${code}) before it swapped`);
    }),
  ])) as [Buffer];
  expect(String(chunk)).toContain("swapping");
}

function linkedTree(prefix: string, files: Record<string, string>): string {
  const allowed = deniedFolderTree(prefix, files);
  symlinkSync("pub", join(allowed, "d"));
  return allowed;
}

interface Opened {
  write(b: Uint8Array, at: bigint): bigint;
  [Symbol.dispose]?: () => void;
}

describe("wasi:filesystem: an open that changes a file, raced with a swapped link", () => {
  it("a truncating open through the swapped link never empties the denied file", {
    timeout: 180_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-trunc-", {
      "pub/f.txt": "public",
      "team/private/f.txt": "SECRET",
    });
    const secret = join(allowed, "team", "private", "f.txt");
    const { data, events } = deniedFolderHost(allowed, "read, write");
    await startSwapping(allowed);
    let opened = 0;
    for (let i = 0; i < 20_000; i++) {
      try {
        const f = data.openAt(
          { symlinkFollow: true },
          "d/f.txt",
          { truncate: true },
          {
            write: true,
          },
        ) as unknown as Opened;
        opened++;
        f[Symbol.dispose]?.();
      } catch {
        // refused (the link led to the denied folder), or swapped mid-open
      }
      if (readFileSync(secret, "utf8") !== "SECRET") break;
    }
    expect(opened).toBeGreaterThan(0);
    expect(events.some((e) => e.decision === "deny")).toBe(true);
    expect(readFileSync(secret, "utf8")).toBe("SECRET");
  });

  it("a creating open through the swapped link never makes a file in the denied folder", {
    timeout: 180_000,
  }, async () => {
    const allowed = linkedTree("warden-wasi-race-create-", {
      "pub/keep": "",
      "team/private/keep": "",
    });
    const denied = join(allowed, "team", "private");
    const { data, events } = deniedFolderHost(allowed, "read, write");
    await startSwapping(allowed);
    let opened = 0;
    for (let i = 0; i < 20_000; i++) {
      const name = `n${i}.txt`;
      try {
        const f = data.openAt(
          { symlinkFollow: true },
          `d/${name}`,
          { create: true },
          {
            write: true,
          },
        ) as unknown as Opened;
        opened++;
        f[Symbol.dispose]?.();
      } catch {
        // refused, or swapped mid-open
      }
      if (existsSync(join(denied, name))) break;
    }
    expect(opened).toBeGreaterThan(0);
    expect(events.some((e) => e.decision === "deny")).toBe(true);
    expect(readdirSync(denied)).toEqual(["keep"]);
  });
});
