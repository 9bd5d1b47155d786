/** The telemetry layer: spans of judged calls to OpenTelemetry, W3C trace context (docs/telemetry.md). */
export {
  OTLP_DEFAULTS,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  type OtlpSettings,
  TRACES_PATH,
  tracesUrl,
} from "./config.js";
export { createExporter } from "./exporter.js";
export type { DropReason, ProcessorCounts } from "./processor.js";
export { clientContext, traceHeaders, withClientTrace } from "./propagation.js";
export { CallTracer, MAX_OPEN_SPANS, type MessageTracing } from "./tracer.js";
