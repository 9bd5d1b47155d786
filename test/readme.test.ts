// README.md is a front page (ARCHITECTURE.md, "Docs that read as reference"): what Warden is,
// the two commands a new user runs, usage per command, one current performance table. Reference
// goes to docs/, dated runs to bench/HISTORY.md; this keeps it from growing back into a manual.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync("README.md", "utf8");

describe("README.md", () => {
  it("is at most 250 lines", () => {
    expect(readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0)).toBeLessThanOrEqual(250);
  });

  it("opens with what Warden is, then the install-and-demo command and the test command", () => {
    const quick = readme.indexOf("## Quick start");
    expect(readme.slice(0, quick)).toMatch(
      /^# Warden\n\nWarden puts a fast, fail-closed checkpoint/,
    );
    const after = readme.slice(quick);
    expect(after.indexOf("npm install && npm run demo")).toBeGreaterThan(0);
    expect(after.indexOf("npm test")).toBeGreaterThan(after.indexOf("npm install && npm run demo"));
  });
});
