/**
 * A per-session component behind a shared upstream (`sessions: shared`): every client session
 * would talk to one MCP session of the component upstream, so one client's per-session
 * instance (and its state) would serve another client's calls. The combination is refused at
 * config load, naming both keys; each alone is accepted.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";

const cfg = (extra: string) =>
  parseConfig(
    `policy: p.yaml\nupstreams:\n  - name: notes\n    component: ./notes.wasm\n${extra}`,
    "/cfg/warden.yaml",
  );

describe("sessions: shared with a per-session component", () => {
  it("is refused: state would leak between client sessions", () => {
    const r = cfg("    instance: per-session\n    sessions: shared\n");
    expect(r.ok).toBe(false);
    const e = r.ok ? undefined : r.errors[0]!;
    expect(e?.code).toBe("conflicting_keys");
    expect(e?.key).toBe("upstreams[0].sessions");
    expect(e?.message).toContain("instance: per-session");
  });

  it("each alone is accepted", () => {
    expect(cfg("    instance: per-session\n").ok).toBe(true);
    expect(cfg("    sessions: shared\n").ok).toBe(true);
  });
});
