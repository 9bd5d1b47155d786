/**
 * Sandbox benchmarks (issue 4). Per evaluation of a small JSON plugin (scan.wat: scans ~150
 * bytes of input) with every limit on: fresh state (reset from the initial image), pooled
 * (stateful), the raw V8 floor (no limits), and the same logic as an Extism plugin run by
 * @extism/extism (reused and fresh). Then: fuel overhead on a compute-heavy plugin, timeout
 * accuracy (100 ms), and the RSS of a grow-and-write bomb (in a child process).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import createPlugin from "@extism/extism";
import wabtInit from "wabt";
import { loadPlugin } from "../src/sandbox/plugin.js";
import { blackhole, type Harness } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const FIXTURES = join(root, "test/sandbox/fixtures");

const INPUT = JSON.stringify({
  tool: "fs.read",
  arguments: { path: "/srv/data/reports/2024-q3.csv", limit: 100, offset: 0 },
  user: { id: "u-12345", roles: ["analyst", "reader"] },
  session: "s-9f8e7d6c",
});

async function wat(name: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const m = wabt.parseWat(name, readFileSync(join(FIXTURES, `${name}.wat`), "utf8"), {
    simd: true,
    bulk_memory: true,
    reference_types: true,
    multi_value: true,
    exceptions: true,
  });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

type Raw = { memory: WebAssembly.Memory; evaluate: (p: number, n: number) => bigint };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The floor: write the input, call, read the output bytes. No limits, no checks. */
function rawCall(x: Raw, input: Uint8Array): string {
  new Uint8Array(x.memory.buffer, 65536, input.length).set(input);
  const r = x.evaluate(65536, input.length);
  const ptr = Number(r >> 32n);
  const len = Number(r & 0xffffffffn);
  return dec.decode(new Uint8Array(x.memory.buffer, ptr, len));
}

function rawInstance(module: WebAssembly.Module): Raw {
  const x = new WebAssembly.Instance(module, {}).exports as unknown as Raw;
  x.memory.grow(1);
  return x;
}

const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;

export default async function (h: Harness): Promise<void> {
  const scan = await wat("scan");
  const inputBytes = enc.encode(INPUT);

  // --- per-evaluation latency ---------------------------------------------------------------
  const fresh = await loadPlugin(scan, { name: "scan-fresh" });
  const pooled = await loadPlugin(scan, { name: "scan-pooled", stateful: true });
  if (!fresh.evaluateSync(INPUT).verdict) throw new Error("scan plugin misbehaves");
  const f = h.measure("fresh state, all limits (evaluateSync)", () => fresh.evaluateSync(INPUT), {
    note: `input ${inputBytes.length} B; memory+globals reset from image; goal ≤ 20 µs p50`,
  });
  const p = h.measure("pooled (stateful), all limits", () => pooled.evaluateSync(INPUT), {
    note: "goal ≤ 3 µs p50",
  });
  await h.measureAsync("fresh state, all limits (await evaluate)", () => fresh.evaluate(INPUT), {
    note: "same, through the Promise API",
  });

  const module = new WebAssembly.Module(scan);
  const reused = rawInstance(module);
  h.measure("floor: raw WebAssembly.Instance reused + call", () => rawCall(reused, inputBytes), {
    note: "no limits, no output parsing",
  });
  h.measure(
    "floor: new WebAssembly.Instance from cached module + call",
    () => rawCall(rawInstance(module), inputBytes),
    { note: "no limits; a new memory each time" },
  );

  const extismWasm = await wat("extism-scan");
  const extismModule = await WebAssembly.compile(extismWasm);
  const ext = await createPlugin(extismModule, { useWasi: false });
  const out = await ext.call("evaluate", INPUT);
  if (!out?.text().includes('"verdict":true')) throw new Error("extism plugin misbehaves");
  await h.measureAsync("peer: @extism/extism 1.x reused", () => ext.call("evaluate", INPUT), {
    note: "same logic; no timeout and no memory cap without a worker",
  });
  await h.measureAsync(
    "peer: @extism/extism 1.x fresh (createPlugin per call)",
    async () => {
      const x = await createPlugin(extismModule, { useWasi: false });
      const r = await x.call("evaluate", INPUT);
      await x.close();
      return r;
    },
    { samples: h.quick ? 30 : 300 },
  );
  await ext.close();

  // --- fuel overhead --------------------------------------------------------------------------
  const compute = await wat("compute");
  const cInput = "5"; // 1.2 M loop iterations
  const cRaw = rawInstance(new WebAssembly.Module(compute));
  const cBytes = enc.encode(cInput);
  const metered = await loadPlugin(compute, {
    name: "compute",
    limits: { fuel: 1_000_000_000, timeout_ms: 30_000 },
  });
  const samples = h.quick ? 20 : 100;
  const rawC = h.measure("compute-heavy: raw (no metering)", () => rawCall(cRaw, cBytes), {
    samples,
    batch: 1,
    note: "1.2 M iterations of integer hashing",
  });
  const fuelC = h.measure(
    "compute-heavy: fuel + timeout metering",
    () => metered.evaluateSync(cInput),
    {
      samples,
      batch: 1,
    },
  );
  const ratio = fuelC.p50_ns / rawC.p50_ns;
  fuelC.note = `overhead ${ratio.toFixed(2)}x p50 (goal ≤ 1.5x)`;

  // --- timeout accuracy -------------------------------------------------------------------------
  const loop = await loadPlugin(await wat("loop"), { name: "loop", limits: { timeout_ms: 100 } });
  const trials = h.quick ? 10 : 100;
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const t0 = performance.now();
    const e = await loop.evaluate("{}").catch((x: unknown) => x);
    times.push(performance.now() - t0);
    if ((e as { code?: string }).code !== "timeout") throw new Error("loop was not stopped");
  }
  times.sort((a, b) => a - b);
  const within = times.filter((t) => t >= 100 && t <= 130).length;
  h.record({
    name: `timeout 100 ms, ${trials} trials (ms: min / max)`,
    p50_ns: Math.round(times[Math.floor(trials / 2)]! * 1e6),
    p99_ns: Math.round(times[Math.ceil(trials * 0.99) - 1]! * 1e6),
    ops_per_s: 0,
    samples: trials,
    note: `min ${times[0]!.toFixed(1)} ms, max ${times[trials - 1]!.toFixed(1)} ms; ${within}/${trials} within 100-130 ms`,
  });

  // --- grow-and-write bomb RSS (child process, 64 MiB limit, 3 bombs; page faults are slow here) ----
  const script = join(tmpdir(), `warden-bomb-${process.pid}.mjs`);
  const pluginJs = join(here, "../src/sandbox/plugin.js");
  writeFileSync(
    script,
    `import { loadPlugin } from ${JSON.stringify(pluginJs)};
const bytes = new Uint8Array(Buffer.from(process.argv[2], "base64"));
const limit = 64 * 1024 * 1024;
const p = await loadPlugin(bytes, { name: "bomb", limits: { memory_limit_bytes: limit, timeout_ms: 30000 } });
const before = process.memoryUsage().rss;
const codes = [];
let peak = before;
for (let i = 0; i < 3; i++) {
  const e = await p.evaluate("{}").catch((x) => x);
  codes.push(e.code);
  peak = Math.max(peak, process.memoryUsage().rss);
}
const maxrss = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ before, peak, maxrss, limit, codes }));
`,
  );
  const child = spawnSync(
    process.execPath,
    [script, Buffer.from(await wat("grow-bomb")).toString("base64")],
    {
      encoding: "utf8",
    },
  );
  const res = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as {
    before: number;
    maxrss: number;
    limit: number;
    codes: string[];
  };
  const MiB = 1024 * 1024;
  h.record({
    name: "grow-and-write bomb, 64 MiB limit, 3 runs: peak RSS growth",
    p50_ns: Number.NaN,
    p99_ns: Number.NaN,
    ops_per_s: 0,
    samples: 3,
    note: `peak RSS ${(res.maxrss / MiB).toFixed(0)} MiB (+${((res.maxrss - res.before) / MiB).toFixed(0)} MiB over ${(res.before / MiB).toFixed(0)} MiB before; goal < limit + 64 MiB); errors: ${[...new Set(res.codes)].join(",")}`,
  });

  blackhole([f, p, us(0)]);
}
