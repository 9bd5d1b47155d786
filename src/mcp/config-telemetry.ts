/**
 * `telemetry.otlp` of warden.yaml (docs/telemetry.md), after the schema pass: defaults, the
 * endpoint (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT when it is not
 * written: the config wins) made into the traces URL, and what a schema cannot say: a URL that
 * parses, http or https. No audit section is needed: spans are made from the audit records, built
 * in memory when no file is written.
 */
// config.js, not index.js: reading a config must not load the OpenTelemetry SDK (gateway.ts loads it
// only when telemetry.otlp is set).
import {
  OTLP_DEFAULTS,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  type OtlpSettings,
  tracesUrl,
} from "../telemetry/config.js";
import type { ConfigIssueCode } from "./codes.js";

type Obj = Record<string, unknown>;
type Path = (string | number)[];

/** What of config.ts's Checker this file uses. */
interface Checker {
  obj(v: unknown): Obj | undefined;
  str(o: Obj, k: string): string | undefined;
  strMap(o: Obj, k: string): Record<string, string>;
  int(o: Obj, k: string, dflt: number): number;
  add(path: Path, message: string, code?: ConfigIssueCode): void;
}

/** The endpoint as written, or from the environment (with where it came from). */
function endpointOf(written: string | undefined, env: NodeJS.ProcessEnv): [string, string] | [] {
  if (written !== undefined) return [written, "telemetry.otlp.endpoint"];
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces !== undefined && traces !== "") return [traces, "$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base !== undefined && base !== "") return [base, "$OTEL_EXPORTER_OTLP_ENDPOINT"];
  return [];
}

/**
 * The protocol as written (the schema checked it), else OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
 * OTEL_EXPORTER_OTLP_PROTOCOL, else http/json. A variable naming another protocol is refused.
 */
function protocolOf(c: Checker, o: Obj, env: NodeJS.ProcessEnv, at: Path): OtlpProtocol {
  const written = c.str(o, "protocol");
  if (written !== undefined) return written as OtlpProtocol;
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) return v as OtlpProtocol;
    c.add(
      at,
      `$${name} is "${v}": telemetry.otlp sends OTLP over HTTP only; set it to http/json or http/protobuf, or write telemetry.otlp.protocol.`,
    );
    break;
  }
  return "http/json";
}

export function otlpKeys(
  c: Checker,
  root: Obj,
  env: NodeJS.ProcessEnv = process.env,
): OtlpSettings | undefined {
  const o = c.obj(c.obj(root.telemetry)?.otlp);
  if (o === undefined) return undefined;
  const at: Path = ["telemetry", "otlp"];
  const [endpoint, from] = endpointOf(c.str(o, "endpoint"), env);
  let url = "";
  if (endpoint === undefined)
    c.add(
      at,
      "telemetry.otlp has no endpoint: write endpoint: http://<collector>:4318, or export OTEL_EXPORTER_OTLP_ENDPOINT.",
      "missing_key",
    );
  else {
    let ok = false;
    try {
      const u = new URL(endpoint);
      ok = u.protocol === "http:" || u.protocol === "https:";
      if (ok) url = tracesUrl(endpoint);
    } catch {}
    if (!ok)
      c.add(
        from === "telemetry.otlp.endpoint" ? [...at, "endpoint"] : at,
        `${from} "${endpoint}" is not an http:// or https:// URL (the collector's OTLP/HTTP endpoint, e.g. http://localhost:4318).`,
      );
  }
  return {
    url,
    protocol: protocolOf(c, o, env, at),
    headers: c.strMap(o, "headers"),
    serviceName: c.str(o, "service_name") ?? OTLP_DEFAULTS.serviceName,
    timeoutMs: c.int(o, "timeout_ms", OTLP_DEFAULTS.timeoutMs),
    maxQueue: c.int(o, "max_queue", OTLP_DEFAULTS.maxQueue),
    maxBatch: c.int(o, "max_batch", OTLP_DEFAULTS.maxBatch),
    delayMs: c.int(o, "delay_ms", OTLP_DEFAULTS.delayMs),
  };
}
