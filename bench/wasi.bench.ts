/**
 * The WASI host's cost per host call (issue 21): the policy decision inside a host call on an
 * already-resolved path or host (goal ≤ 300 ns p50), the crossing around it (core Call + Chain:
 * policy, statistics), and the whole added cost per filesystem call, path resolution included,
 * beside the raw unchecked call (preview2-shim's own descriptor) in the same run.
 * `npm run bench -- --only wasi`.
 */
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { _createPreopenDescriptor } from "@bytecodealliance/preview2-shim/filesystem";
import { createWasiHost } from "../src/hosted/wasi/host.js";
import { compilePolicy } from "../src/policy/compile.js";
import { resolveRealPathSync } from "../src/policy/io.js";
import type { Action } from "../src/policy/types.js";
import type { Harness } from "./harness.js";

type Desc = Record<string, (...a: unknown[]) => unknown>;

export default async function (h: Harness): Promise<void> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-bench-wasi-")));
  const dir = join(root, "data", "reports");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "today.json");
  writeFileSync(file, JSON.stringify({ ok: true }).repeat(4));
  const source = [
    'version: "1.0"',
    "storage:",
    "  allow:",
    `    - uri: "fs://${root}/data/**"`,
    "      access: [read, write]",
    "  deny:",
    `    - uri: "fs://${root}/data/secrets/**"`,
    "network:",
    "  allow:",
    '    - host: "api.example.com"',
    "      ports: [443]",
    "  deny:",
    '    - cidr: "169.254.0.0/16"',
    "",
  ].join("\n");
  const compiled = compilePolicy(source, { file: "bench.yaml" });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const policy = compiled.policy;

  // 1. The decision alone, on what the host has already resolved.
  const read: Action = { kind: "storage.read", uri: file };
  h.measure("wasi: policy decision, storage.read on a resolved path", () => policy.check(read), {
    note: "goal ≤ 300 ns p50",
  });
  const connect: Action = { kind: "network.connect", host: "api.example.com", port: 443 };
  h.measure(
    "wasi: policy decision, network.connect on a resolved host",
    () => policy.check(connect),
    {
      note: "goal ≤ 300 ns p50",
    },
  );
  const metadata: Action = { kind: "network.connect", host: "169.254.169.254", port: 80 };
  h.measure("wasi: policy decision, network.connect to 169.254.169.254 (denied)", () =>
    policy.check(metadata),
  );

  // 2. The crossing around it: a core Call through the host's Chain (policy, statistics).
  const host = createWasiHost({
    component: "bench",
    policy: compiled.policy,
    preopens: { "/data": join(root, "data") },
  });
  const nothing = () => undefined;
  h.measure("wasi: crossing (Call + Chain: policy, statistics), resolved path", () =>
    host.crossings.run("wasi:filesystem/types", "[method]descriptor.stat", read, "access", nothing),
  );

  // 3. The whole added cost per filesystem call: path resolution, crossing, then the shim.
  h.measure("wasi: realpath alone (resolveRealPathSync)", () => resolveRealPathSync(file), {
    note: "the resolution every path-taking call pays",
  });
  const guarded = (
    host.imports["wasi:filesystem/preopens"]!.getDirectories as () => [Desc, string][]
  )()[0]![0];
  const raw = _createPreopenDescriptor(join(root, "data")) as unknown as Desc;
  const follow = { symlinkFollow: true };
  h.measure(
    "wasi: stat-at, raw preview2-shim (unchecked)",
    () => raw.statAt!(follow, "reports/today.json"),
    {
      note: "the same call, no Warden",
    },
  );
  h.measure("wasi: stat-at through Warden's host (resolve + check + shim)", () =>
    guarded.statAt!(follow, "reports/today.json"),
  );
  h.measure("wasi: node fs.statSync (floor)", () => statSync(file));
  const rawFile = raw.openAt!(follow, "reports/today.json", {}, { read: true }) as Desc;
  const guardedFile = guarded.openAt!(follow, "reports/today.json", {}, { read: true }) as Desc;
  h.measure("wasi: read 64 bytes, raw preview2-shim (unchecked)", () => rawFile.read!(64n, 0n), {
    samples: 500,
  });
  h.measure(
    "wasi: read 64 bytes through Warden's host (check + shim)",
    () => guardedFile.read!(64n, 0n),
    {
      samples: 500,
    },
  );
  h.measure(
    "wasi: open-at verification alone (fstat of the opened descriptor + lstat of the judged path)",
    () => {
      (rawFile as unknown as { metadataHash(): unknown }).metadataHash();
      lstatSync(file, { bigint: true });
    },
    {
      samples: 500,
      note: "what each open-at adds so a link swapped between the check and the open is caught",
    },
  );
  const parent = join(root, "data", "reports");
  h.measure(
    "wasi: parent verification alone (open O_DIRECTORY|O_NOFOLLOW + readlink /proc/self/fd + close)",
    () => {
      const fd = openSync(
        parent,
        constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
      );
      readlinkSync(`/proc/self/fd/${fd}`);
      closeSync(fd);
    },
    { note: "what unlink, rmdir, mkdir, rename (twice), symlink add on Linux" },
  );
  h.measure(
    "wasi: open-at, raw preview2-shim (unchecked)",
    () => raw.openAt!(follow, "reports/today.json", {}, { read: true }),
    {
      samples: 500,
    },
  );
  h.measure(
    "wasi: open-at through Warden's host (resolve + check + shim)",
    () => guarded.openAt!(follow, "reports/today.json", {}, { read: true }),
    { samples: 500 },
  );
  rmSync(root, { recursive: true, force: true });
}
