/**
 * The component worker's message loop: `define` a component (its spec), `call` a tool. A call
 * converts the JSON arguments (already validated by the main thread) to jco's values, runs the
 * function under the sandbox's budget (deadline, fuel, memory cap), converts the result back,
 * and resets the instance to its image (or keeps it: `stateful`, and `per-session`, whose
 * instances are one per MCP session until `end-session`; or drops it: failures and resets that
 * cannot be exact). Everything here is synchronous per call; the main thread
 * enforces its own deadline by terminating the whole worker.
 */
import { WardenError } from "../../core/errors.js";
import { ConvertError, fromJs, toJs } from "../convert.js";
import { EventBatch } from "../event-batch.js";
import { ComponentExit, type Emit } from "../host-seam.js";
import type { ToolCallSpec } from "../tools.js";
import { ComponentInstance } from "./instance.js";
import type { ComponentSpec, StartedBoard, ToMain, ToWorker } from "./protocol.js";

interface Entry {
  spec: ComponentSpec;
  tools: Map<string, ToolCallSpec>;
  /** The instance of per-call and stateful components; per-session ones: one per session. */
  instance?: ComponentInstance;
  sessions: Map<string, ComponentInstance>;
}

/** Where a call's instance lives: the entry's one, or its session's. */
function slotOf(entry: Entry, session: string | undefined) {
  if (entry.spec.instance !== "per-session")
    return {
      get: () => entry.instance,
      set: (i: ComponentInstance | undefined) => {
        entry.instance = i;
      },
    };
  const key = session ?? "";
  return {
    get: () => entry.sessions.get(key),
    set: (i: ComponentInstance | undefined) => {
      if (i === undefined) entry.sessions.delete(key);
      else entry.sessions.set(key, i);
    },
  };
}

/** Reset an instance to its image; one that cannot be (or fails to be) is dropped. */
function restore(inst: ComponentInstance, drop: () => void): void {
  try {
    if (!inst.reset()) drop();
  } catch {
    drop();
  }
}

/** The function's own err(E): a result, not a failure. */
class ResultErr {
  constructor(readonly payload: unknown) {}
}

function errorOf(e: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (e instanceof WardenError) {
    const d = e.details as Record<string, unknown> | undefined;
    return { code: e.code, message: e.message, ...(d ? { details: d } : {}) };
  }
  if (e instanceof ComponentExit) return { code: "hosted_exit", message: e.message };
  if (e instanceof ConvertError) return { code: "hosted_invalid_arguments", message: e.message };
  return { code: "trap", message: (e as Error)?.message ?? String(e) };
}

export function startWorker(
  send: (m: ToMain) => void,
  board?: StartedBoard,
): (m: ToWorker) => Promise<void> {
  const entries = new Map<string, Entry>();
  // Host-call events cross batched and bounded; the rest of a call's go before its `done`.
  const batch = new EventBatch(send);
  const emit: Emit = batch.emit;
  const post = (m: ToMain) => {
    if (m.type === "done") batch.end();
    send(m);
  };

  async function call(m: Extract<ToWorker, { type: "call" }>): Promise<void> {
    if (m.eager === true) batch.eager = true;
    const entry = entries.get(m.component);
    const tool = entry?.tools.get(m.tool);
    if (entry === undefined || tool === undefined) {
      post({
        type: "done",
        id: m.id,
        ok: false,
        error: { code: "hosted_unknown_tool", message: `no tool ${m.tool} in ${m.component}` },
      });
      return;
    }
    const slot = slotOf(entry, m.session);
    let inst: ComponentInstance;
    try {
      inst = slot.get() ?? (await ComponentInstance.create(entry.spec, emit));
      slot.set(inst);
    } catch (e) {
      post({ type: "done", id: m.id, ok: false, error: errorOf(e) });
      return;
    }
    const fn = inst.fn(tool.exportKey, tool.exportShort, tool.jsName);
    if (fn === undefined) {
      post({
        type: "done",
        id: m.id,
        ok: false,
        error: {
          code: "hosted_load_failed",
          message: `component "${entry.spec.host.componentName}" does not export ${tool.name} as its WIT says; rebuild it from that WIT`,
        },
      });
      return;
    }
    board?.start(m.id);
    let out: unknown;
    try {
      const args = tool.params.map((p) => toJs(p.type, m.args[p.name], `arguments.${p.name}`));
      out = inst.rt.run(() => {
        try {
          return fn(...args);
        } catch (error) {
          // jco throws a function's own err(E) as a ComponentError with the payload.
          if (
            tool.result?.kind === "result" &&
            error !== null &&
            typeof error === "object" &&
            "payload" in error &&
            !(error instanceof WardenError)
          )
            return new ResultErr((error as { payload: unknown }).payload);
          throw error;
        }
      });
      inst.host.afterCall?.();
    } catch (e) {
      slot.set(undefined); // a trap or an exhausted limit: the instance may be half-way
      post({ type: "done", id: m.id, ok: false, error: errorOf(e) });
      return;
    }
    let state: "reset" | "kept" | "dropped" = "kept";
    // The image is put back after the answer is posted (jco has lifted the result out of the
    // memories by then), and before this worker takes its next message: the copy (a C
    // component's few hundred KB, tens of µs; a JS engine's ~10 MB) is off the caller's path,
    // and the next call still starts from the image. One that cannot be reset is dropped now.
    let late = false;
    if (entry.spec.instance === "per-call") {
      if (inst.canReset()) {
        state = "reset";
        late = true;
      } else {
        slot.set(undefined);
        state = "dropped";
      }
    }
    // A per-session instance's memory, for the budget across them (../session-instances.ts).
    const bytes = entry.spec.instance === "per-session" ? { bytes: inst.memoryBytes() } : {};
    try {
      const r = tool.result;
      if (out instanceof ResultErr) {
        const errT = r?.kind === "result" ? r.err : undefined;
        post({
          type: "done",
          id: m.id,
          ok: true,
          isError: true,
          value: errT === undefined ? null : fromJs(errT, out.payload),
          state,
          ...bytes,
        });
        return;
      }
      const okT = r?.kind === "result" ? r.ok : r;
      post({
        type: "done",
        id: m.id,
        ok: true,
        isError: false,
        ...(okT === undefined ? {} : { value: fromJs(okT, out) }),
        state,
        ...bytes,
      });
    } catch (e) {
      post({
        type: "done",
        id: m.id,
        ok: false,
        error: {
          code: "invalid_output",
          message: `the component's result: ${(e as Error).message}`,
        },
      });
    } finally {
      // Done before this worker takes its next message (`handle` resolves after it), so the
      // next call starts from the image; a failed reset drops the instance.
      if (late) restore(inst, () => slot.set(undefined));
    }
  }

  return async (m) => {
    if (m.type === "define") {
      entries.set(m.spec.key, {
        spec: m.spec,
        tools: new Map(m.spec.tools.map((t) => [t.name, t])),
        sessions: new Map(),
      });
      return;
    }
    if (m.type === "end-session") {
      for (const e of entries.values()) e.sessions.delete(m.session);
      return;
    }
    await call(m);
  };
}
