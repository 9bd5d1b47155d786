/** Shared pieces of the WASI host tests: a host over a temporary tree, and its events. */
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WasiCallEvent } from "../../../src/hosted/wasi/events.js";
import {
  createWasiHost,
  type Descriptor,
  type WasiHostOptions,
} from "../../../src/hosted/wasi/host.js";

export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** A host and the events it emitted. */
export function hostWith(opts: Omit<WasiHostOptions, "emit">) {
  const events: WasiCallEvent[] = [];
  const host = createWasiHost({ ...opts, emit: (e) => events.push(e) });
  return { host, events };
}

/** What a guarded call threw: the WASI error value jco would hand the component. */
export function wasiError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    if (e !== null && typeof e === "object" && Object.hasOwn(e, "payload"))
      return (e as { payload: unknown }).payload;
    return e;
  }
  throw new Error("the call did not fail");
}

/**
 * `<tmp>/allowed` with `pub/` and the denied folder `team/private/` inside it, holding `files`
 * (paths under `allowed`): the tree the hostile and race tests attack.
 */
export function deniedFolderTree(prefix: string, files: Record<string, string> = {}): string {
  const allowed = join(tempDir(prefix), "allowed");
  mkdirSync(join(allowed, "pub"), { recursive: true });
  mkdirSync(join(allowed, "team", "private"), { recursive: true });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(allowed, path), text);
  return allowed;
}

/** A policy granting `allowed/**` with `access` (a YAML list's items) but denying `team/private/**`. */
export function deniedFolderPolicy(allowed: string, access = "read"): string {
  return [
    'version: "1.0"',
    "storage:",
    "  allow:",
    `    - uri: "fs://${allowed}/**"`,
    `      access: [${access}]`,
    "  deny:",
    `    - uri: "fs://${allowed}/team/private/**"`,
    "",
  ].join("\n");
}

/** A host with `allowed` preopened at /data under deniedFolderPolicy, its events, and /data. */
export function deniedFolderHost(allowed: string, access = "read") {
  const { host, events } = hostWith({
    component: "files",
    policy: { source: deniedFolderPolicy(allowed, access), file: "fs-policy.yaml" },
    preopens: { "/data": allowed },
  });
  const dirs = (
    host.imports["wasi:filesystem/preopens"]!.getDirectories as () => [Descriptor, string][]
  )();
  return { host, events, data: dirs[0]![0] };
}
