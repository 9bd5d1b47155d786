/**
 * One instance of a component inside a worker: jco's glue instantiated on the sandbox (every
 * core module instrumented, capped and metered by one budget), its host imports from the host
 * in force (../host.ts), and the image each core instance is reset to after a call.
 *
 * Fresh state: right after instantiation, every memory is copied and every core instance's
 * mutable globals saved (the sandbox's `__warden_save`); after a call both are put back, so
 * the next call starts from the same image without instantiating again. That reset is exact
 * only when no core module can write a table, has passive data or GC types, and no memory grew
 * during the call: otherwise the instance is dropped and the next call makes a new one.
 * jco's glue keeps a little JavaScript state of its own (handle tables of host resources made
 * during a call, dropped by the component before it returns); after a failure the glue refuses
 * further calls, so a failed instance is always dropped.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type CoreInstanceRecord,
  type CoreRuntime,
  componentRuntime,
} from "../../sandbox/component/runtime.js";
import type { Instantiate } from "../../sandbox/component/transpile.js";
import { RESTORE_EXPORT, SAVE_EXPORT } from "../../sandbox/instrument.js";
import { createHostImports } from "../host.js";
import type { Emit, HostImports } from "../host-seam.js";
import type { ComponentSpec } from "./protocol.js";

type GuestFn = () => void;

/**
 * jco's glue asks `process.env.JCO_DEBUG` (a lookup through the host, about a microsecond) in
 * every `_debugLog` call, several per call and per host call. The glue is imported with that
 * read once at instantiation instead (same behaviour: the variable still turns its log on);
 * a glue without that exact text is imported as it is.
 */
const JCO_DEBUG_LOG =
  /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}/;

async function importGlue(jsPath: string): Promise<{ instantiate: Instantiate }> {
  const src = await readFile(jsPath, "utf8");
  if (!JCO_DEBUG_LOG.test(src))
    return (await import(pathToFileURL(jsPath).href)) as { instantiate: Instantiate };
  const fast = src.replace(
    JCO_DEBUG_LOG,
    "const _wardenJcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG);\n  const _debugLog = (...args) => {\n    if (!_wardenJcoDebug) { return; }",
  );
  const url = `data:text/javascript;base64,${Buffer.from(fast).toString("base64")}`;
  return (await import(url)) as { instantiate: Instantiate };
}

export class ComponentInstance {
  private constructor(
    readonly rt: CoreRuntime,
    readonly exports: Record<string, unknown>,
    readonly host: HostImports,
    private readonly records: CoreInstanceRecord[],
    private readonly images: { memory: WebAssembly.Memory; image: Uint8Array }[],
    readonly resettable: boolean,
    private readonly memories: readonly WebAssembly.Memory[] = [],
  ) {}

  /** The bytes of the instance's core memories now (the per-session memory budget). */
  memoryBytes(): number {
    let n = 0;
    for (const m of this.memories) n += m.buffer.byteLength;
    return n;
  }

  static async create(spec: ComponentSpec, emit: Emit): Promise<ComponentInstance> {
    const mod = await importGlue(spec.jsPath);
    const records: CoreInstanceRecord[] = [];
    const rt = componentRuntime({
      name: spec.host.componentName,
      limits: spec.limits,
      ...(spec.cacheDir === undefined ? {} : { cacheDir: spec.cacheDir }),
      loadTimeoutMs: 60_000,
      onInstance: (r) => records.push(r),
      warn: (m) =>
        emit({ kind: "log", component: spec.host.componentName, level: "warn", message: m }),
    });
    const compiled = new Map<string, Promise<WebAssembly.Module>>();
    const getCoreModule = (p: string) => {
      let m = compiled.get(p);
      if (m === undefined) {
        m = readFile(join(spec.dir, p)).then((b) =>
          rt.compile(new Uint8Array(b), `${spec.host.componentName}/${p}`),
        );
        compiled.set(p, m);
      }
      return m;
    };
    const host = await createHostImports(spec.host, emit);
    const exports = await rt.instantiateComponent(() =>
      mod.instantiate(getCoreModule, host.imports, (m, i) => rt.instantiate(m, i)),
    );
    const memories = new Set<WebAssembly.Memory>();
    for (const r of records)
      for (const v of Object.values(r.instance.exports))
        if (v instanceof WebAssembly.Memory) memories.add(v);
    const resettable = records.every((r) => r.prepared.resettable);
    const images: { memory: WebAssembly.Memory; image: Uint8Array }[] = [];
    if (resettable && spec.instance === "per-call") {
      for (const r of records) (r.instance.exports[SAVE_EXPORT] as GuestFn | undefined)?.();
      for (const memory of memories)
        images.push({ memory, image: new Uint8Array(memory.buffer).slice() });
    }
    return new ComponentInstance(rt, exports, host, records, images, resettable, [...memories]);
  }

  /** The bytes `reset` copies back (every memory's image). */
  get imageBytes(): number {
    let n = 0;
    for (const { image } of this.images) n += image.length;
    return n;
  }

  /** Whether `reset` can put the image back exactly now (no memory grew; every module resettable). */
  canReset(): boolean {
    if (!this.resettable) return false;
    for (const { memory, image } of this.images)
      if (memory.buffer.byteLength !== image.length) return false;
    return true;
  }

  /** Back to the image taken after instantiation; false when that cannot be exact. */
  reset(): boolean {
    if (!this.canReset()) return false;
    for (const r of this.records) (r.instance.exports[RESTORE_EXPORT] as GuestFn | undefined)?.();
    for (const { memory, image } of this.images) new Uint8Array(memory.buffer).set(image);
    return true;
  }

  /** The function a tool calls, or undefined when the component does not export it. */
  fn(exportKey: string | null, exportShort: string | null, jsName: string) {
    const holder =
      exportKey === null
        ? this.exports
        : ((this.exports[exportKey] ?? (exportShort ? this.exports[exportShort] : undefined)) as
            | Record<string, unknown>
            | undefined);
    const f = holder?.[jsName];
    return typeof f === "function" ? (f as (...a: unknown[]) => unknown) : undefined;
  }
}
