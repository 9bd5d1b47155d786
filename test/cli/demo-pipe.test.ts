/** `warden demo | head`: a reader that leaves early ends the demo quietly (exit 0, no EPIPE trace). */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI } from "./helpers.js";

describe("warden demo piped into a reader that leaves early", () => {
  it("exits 0 without a stack trace", async () => {
    const p = spawn(process.execPath, [CLI, "demo"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    p.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    // read the first chunk, then close our end as `head -1` does
    p.stdout.once("data", () => p.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => p.once("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  }, 60_000);
});
