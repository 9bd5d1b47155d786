import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { linkedTree, SWAP, startSwapping, stopSwapping } from "./_swapper.js";
import { deniedFolderHost } from "./helpers.js";

afterEach(stopSwapping);

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
    await startSwapping(SWAP, allowed);
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
    await startSwapping(SWAP, allowed);
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
