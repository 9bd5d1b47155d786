/**
 * The plugin compiler's worker thread (see ./compile.ts): checks, instruments (Binaryen) and
 * compiles a module with the sandbox's prepareModule, off the main thread, and posts back the
 * PreparedModule (its WebAssembly.Module is shared with the main thread, not copied), or the
 * error's code, message and details.
 */
import { parentPort } from "node:worker_threads";
import { isWardenError } from "../../core/errors.js";
import { prepareModule } from "../../sandbox/index.js";
import type { CompileReply, CompileRequest } from "./compile-protocol.js";

const port = parentPort;
if (port === null) throw new Error("rules/registry/compile-worker.js runs only as a worker thread");
port.on("message", (m: CompileRequest) => {
  prepareModule(m.bytes, {
    name: m.name,
    limits: m.limits,
    ...(m.cacheDir === undefined ? {} : { cacheDir: m.cacheDir }),
  }).then(
    (prepared) => port.postMessage({ id: m.id, ok: true, prepared } satisfies CompileReply),
    (e: unknown) =>
      port.postMessage({
        id: m.id,
        ok: false,
        error: isWardenError(e)
          ? { code: e.code, message: e.message, category: e.category, details: e.details }
          : { code: "compile_error", message: String((e as Error)?.message ?? e) },
      } satisfies CompileReply),
  );
});
