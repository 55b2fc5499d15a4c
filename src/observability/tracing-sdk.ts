import { context, DiagLogLevel, diag, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { Clock } from "../util/clock.ts";
import { packageVersion } from "../util/package-version.ts";
import type { Logger } from "./log.ts";
import { redact } from "./sanitize.ts";
import { throttledWarn } from "./throttled-log.ts";
import { installTracer } from "./tracing.ts";
import type { OtlpProtocol } from "./tracing-env.ts";

/**
 * The OpenTelemetry SDK, set up from the standard environment. main.ts imports this file (and through it every
 * SDK and exporter module) only when tracing-env.ts says the environment asks for tracing.
 */

export interface TracingSdk {
  /** Stops making spans, exports the ones still buffered, and unregisters the SDK. */
  shutdown(): Promise<void>;
}

/** OTLP/HTTP exporter for the protocol; it reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT… itself. */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter();
}

export async function startTracingSdk(
  protocol: OtlpProtocol,
  deps: { logger: Logger; clock: Clock },
): Promise<TracingSdk> {
  // Export failures reach the SDK's diagnostic logger: at most one line per 10 s, sanitised like any error.
  const warn = throttledWarn(deps.logger, deps.clock, "tracing: span export problem");
  const toLog = (message: string) => warn({ detail: redact(String(message)).slice(0, 300) });
  diag.setLogger(
    { error: toLog, warn: toLog, info: () => undefined, debug: () => undefined, verbose: () => undefined },
    DiagLogLevel.WARN,
  );
  const version = packageVersion();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the broker's own defaults.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: "wif-broker", [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [envDetector] }));
  // The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on); batching from OTEL_BSP_*.
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(await otlpExporter(protocol))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  installTracer(provider.getTracer("wif-broker", version));
  return {
    async shutdown() {
      installTracer(undefined);
      try {
        await provider.shutdown();
      } catch (e) {
        toLog(e instanceof Error ? e.message : "shutdown failed");
      }
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}
