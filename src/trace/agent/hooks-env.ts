/**
 * `process.env` reads of keys the policy names: the environment is put behind a Proxy that
 * judges each key a rule of the `environment` section names (reads of other keys are not
 * judged and not reported). A denied key reads as unset, is not `in` the environment, and is
 * left out of its keys, so a child started with a copy of it does not get it either.
 * Warden's own variables (`WARDEN_TRACE_*`, which the agent reads before this hook is in place
 * and puts back in every child's environment) are not the program's: never judged or reported
 * (the npm-install preset's `*TOKEN*` made every clean install report a block for
 * `WARDEN_TRACE_TOKEN`).
 */
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

/** Warden's own variables: the run's URL, token, agent and hand-over. */
const OWN = "WARDEN_TRACE_";

export function hookEnv(t: Tracer): string[] {
  if (!t.judge.judges("environment")) return [];
  const real = process.env;
  /** Per key: its judgement (only keys a rule names are reported). */
  const known = new Map<string, Judged>();
  const judged = (key: string, fn: string): Judged | undefined => {
    if (key.startsWith(OWN)) return undefined;
    let j = known.get(key);
    if (j === undefined) {
      j = t.judge.op({ kind: "env", target: key });
      if (known.size < 4096) known.set(key, j);
    }
    if (j.decision?.rule === undefined) return undefined;
    return t.record(fn, "process", key, j);
  };
  const hidden = (key: string | symbol): boolean =>
    typeof key === "string" && !t.judge.busy && judged(key, "process.env")?.verdict === "block";
  process.env = new Proxy(real, {
    get(target, key) {
      if (hidden(key)) return undefined;
      return Reflect.get(target, key);
    },
    // Set on the environment itself: the default would define the key on the proxy's receiver
    // with a partial descriptor, which process.env refuses for a key it has (npm sets some).
    set(target, key, value) {
      return Reflect.set(target, key, value);
    },
    has(target, key) {
      if (hidden(key)) return false;
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === "string" && known.get(key)?.verdict === "block") return undefined;
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      return Reflect.ownKeys(target).filter((k) => {
        if (typeof k !== "string" || k.startsWith(OWN)) return true;
        let j = known.get(k);
        if (j === undefined) {
          j = t.judge.op({ kind: "env", target: k });
          if (known.size < 4096) known.set(k, j);
        }
        return j.verdict !== "block";
      });
    },
  });
  return ["process.env"];
}
