/**
 * The OTLP/HTTP span exporter of `telemetry.otlp` (docs/telemetry.md): JSON by default, protobuf
 * with `protocol: http/protobuf`. Each is imported only when chosen, so a JSON gateway never
 * loads the protobuf encoder.
 */
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtlpSettings } from "./config.js";

export async function createExporter(settings: OtlpSettings): Promise<SpanExporter> {
  const config = {
    url: settings.url,
    headers: { ...settings.headers },
    timeoutMillis: settings.timeoutMs,
    concurrencyLimit: 1,
  };
  if (settings.protocol === "http/protobuf") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
    return new OTLPTraceExporter(config);
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  return new OTLPTraceExporter(config);
}
