/**
 * The host as the component worker asks for it (src/hosted/host-seam.ts): policy files that
 * must all allow, preopens from their storage rules, decision events in the seam's shape.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createHostImports, PROVIDED_IMPORTS } from "../../../src/hosted/host.js";
import {
  describeDenial,
  type HostDecisionEvent,
  type HostEvent,
} from "../../../src/hosted/host-seam.js";
import { createWasiHost } from "../../../src/hosted/wasi/host.js";
import { tempDir, wasiError } from "./helpers.js";

type Dir = Record<string, (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>>;

function setup() {
  const root = tempDir("warden-wasi-seam-");
  const data = join(root, "data");
  mkdirSync(join(data, "sub"), { recursive: true });
  writeFileSync(join(data, "sub", "a.txt"), "A");
  const gateway = join(root, "gateway.yaml");
  writeFileSync(
    gateway,
    `storage:\n  allow:\n    - uri: "fs://${root}/**"\n      access: [read]\n`,
  );
  const own = join(root, "weather-policy.yaml");
  // Wassette's format: a directory tree, read only.
  writeFileSync(
    own,
    `version: "1.0"\npermissions:\n  storage:\n    allow:\n      - uri: "fs://${data}"\n        access: ["read"]\n`,
  );
  const events: HostEvent[] = [];
  const r = createHostImports(
    {
      componentName: "weather",
      componentFile: join(root, "weather.wasm"),
      imports: [
        "wasi:filesystem/preopens@0.2.3",
        "wasi:filesystem/types@0.2.3",
        "wasi:cli/environment@0.2.3",
      ],
      policies: [gateway, own],
      baseDir: root,
    },
    (e) => events.push(e),
  );
  return {
    root,
    data,
    events,
    imports: (r as { imports: Record<string, Record<string, unknown>> }).imports,
  };
}

describe("the WASI host behind the worker seam", () => {
  it("provides exactly what it lists", () => {
    const host = createWasiHost({ component: "x" });
    expect([...PROVIDED_IMPORTS].sort()).toEqual(Object.keys(host.imports).sort());
  });

  it("grants what both policies allow: the preopen is the component's directory, reads pass, reads outside are refused", () => {
    const { data, events, imports, root } = setup();
    const dirs = (
      imports["wasi:filesystem/preopens@0.2.3"]!.getDirectories as () => [Dir, string][]
    )();
    // The gateway's root is not granted by the component's own policy; its data directory is.
    expect(dirs.map(([, p]) => p)).toEqual([data]);
    const d = dirs[0]![0];
    const f = d.openAt!({ symlinkFollow: true }, "sub/a.txt", {}, { read: true });
    expect(new TextDecoder().decode((f.read!(1n, 0n) as [Uint8Array])[0])).toBe("A");
    expect(events.at(-2)).toMatchObject({
      kind: "decision",
      component: "weather",
      interface: "wasi:filesystem/types",
      function: "[method]descriptor.open-at",
      target: join(data, "sub", "a.txt"),
      decision: "allow",
    });
    expect(wasiError(() => d.openAt!({}, "sub/new.txt", { create: true }, { write: true }))).toBe(
      "access",
    );
    const block = events.at(-1) as HostDecisionEvent;
    expect(block).toMatchObject({ kind: "decision", decision: "deny", code: "no_rule" });
    expect(block.target).toBe(join(data, "sub", "new.txt"));
    expect(describeDenial(block)).toContain(
      `Warden refused wasi:filesystem/types [method]descriptor.open-at ${join(data, "sub", "new.txt")}`,
    );
    expect(describeDenial(block)).toContain("storage.allow");
    expect(root).toBeTruthy();
  });

  it("with no policy file nothing is granted", () => {
    const r = createHostImports(
      {
        componentName: "c",
        componentFile: "/c.wasm",
        imports: ["wasi:cli/environment"],
        policies: [],
        baseDir: "/",
      },
      () => {},
    ) as { imports: Record<string, Record<string, unknown>> };
    expect((r.imports["wasi:cli/environment"]!.getEnvironment as () => unknown[])()).toEqual([]);
  });
});
