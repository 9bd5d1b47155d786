/** `warden plugin inspect`: what a module is and everything Warden would refuse it for. */
import { isWardenError } from "../core/errors.js";
import { binaryKind, layout, type WasmLimits } from "./binary.js";
import { type LimitsInput, PAGE, resolveLimits } from "./limits.js";
import { abiProblems } from "./plugin.js";
import { prepareModule, sha256 } from "./prepare.js";

export interface InspectReport {
  sha256: string;
  size: number;
  /** "core JSON ABI", "core", "component" or "unknown". */
  kind: string;
  exports: { name: string; kind: string; signature?: string }[];
  imports: { module: string; name: string; kind: string }[];
  memory: { initial_bytes: number; maximum_bytes: number | null; imported: boolean } | null;
  problems: { code: string; message: string }[];
}

function mem(l: WasmLimits, imported: boolean) {
  return {
    initial_bytes: l.min * PAGE,
    maximum_bytes: l.max === null ? null : l.max * PAGE,
    imported,
  };
}

export async function inspectModule(
  bytes: Uint8Array,
  limits?: LimitsInput,
  fn = "evaluate",
): Promise<InspectReport> {
  const report: InspectReport = {
    sha256: sha256(bytes),
    size: bytes.length,
    kind: binaryKind(bytes),
    exports: [],
    imports: [],
    memory: null,
    problems: [],
  };
  const resolved = resolveLimits(limits, "inspect");
  let original: WebAssembly.Module | null = null;
  if (report.kind === "core") {
    try {
      original = new WebAssembly.Module(bytes);
      const lay = layout(bytes);
      const m = lay.importedMemories[0] ?? lay.memories[0];
      if (m) report.memory = mem(m, lay.importedMemories.length > 0);
    } catch {
      // reported below by prepareModule
    }
  }
  if (original) {
    report.imports = WebAssembly.Module.imports(original).map((i) => ({ ...i }));
    report.exports = WebAssembly.Module.exports(original).map((e) => ({ ...e }));
  }
  try {
    const prepared = await prepareModule(bytes, { name: "inspect", limits: resolved });
    for (const e of report.exports) {
      const s = prepared.signatures.get(e.name);
      if (s) e.signature = `(${s.params.join(", ")}) -> (${s.results.join(", ")})`;
    }
    const problems = abiProblems(prepared, fn);
    report.problems.push(...problems.map((p) => ({ code: p.code, message: p.message })));
    if (problems.length === 0) report.kind = "core JSON ABI";
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report.problems.push({
      code: isWardenError(error) ? error.code : "compile_error",
      message: message.replace(/^plugin "inspect": /, ""),
    });
  }
  return report;
}
