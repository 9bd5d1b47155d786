/** Helpers of the Python agent tests: the real interpreter, and `--json` output read back. */
import { execFileSync } from "node:child_process";

/** The real interpreter (not a shim script: pyenv's python3 is a shell script), 3.8 or later. */
function python(): string | undefined {
  try {
    return execFileSync(
      "python3",
      ["-c", "import sys; assert sys.version_info >= (3, 8); print(sys.executable)"],
      { encoding: "utf8" },
    ).trim();
  } catch {
    return undefined;
  }
}
export const PY = python();

export type Ev = Record<string, unknown> & { function: string; target: string; verdict: string };

/** The events and the summary of `warden run --json`'s stdout. */
export function eventsOf(stdout: string): { events: Ev[]; summary: Record<string, unknown> } {
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.pop()!.summary as Record<string, unknown>;
  return { events: lines as Ev[], summary };
}
