/**
 * Whether the standard OpenTelemetry SDK environment asks for tracing (OpenTelemetry specification, "Environment
 * Variable Specification" and "OpenTelemetry Protocol Exporter"). Pure: main.ts loads the SDK only when this says
 * so, and the exporter itself reads the rest (endpoint, headers, timeout, compression, certificates).
 *
 * - On when an OTLP endpoint is named (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`) or
 *   `OTEL_TRACES_EXPORTER=otlp` (then the SDK's default endpoint, http://localhost:4318/v1/traces).
 *   `OTEL_SERVICE_NAME` alone does not turn it on: platforms set it for every container.
 * - Off when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`, whatever else is set.
 * - A setting the broker cannot honour (another exporter, the grpc protocol, an endpoint that is not an http(s)
 *   URL) is a start-up problem, not a silent fallback: traces that were asked for would otherwise go nowhere.
 */

export type OtlpProtocol = "http/protobuf" | "http/json";

export type TracingSettings =
  | { enabled: false }
  | { enabled: true; protocol: OtlpProtocol }
  | { problem: string };

type Env = Readonly<Record<string, string | undefined>>;

const PROTOCOLS: readonly string[] = ["http/protobuf", "http/json"] satisfies OtlpProtocol[];

const ENDPOINTS = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"] as const;

function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === "http:" || url.protocol === "https:");
}

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === "" ? undefined : v;
};

export function tracingSettings(env: Env): TracingSettings {
  if (value(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true") return { enabled: false };
  const exporters = value(env, "OTEL_TRACES_EXPORTER")
    ?.split(",")
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== "");
  if (exporters?.includes("none")) return { enabled: false };
  const unsupported = exporters?.find((e) => e !== "otlp");
  if (unsupported !== undefined)
    return { problem: `OTEL_TRACES_EXPORTER ${unsupported} is not supported (use otlp or none)` };
  const endpoints = ENDPOINTS.filter((name) => value(env, name) !== undefined);
  if (!exporters?.length && endpoints.length === 0) return { enabled: false };
  // Not echoed: an endpoint URL may carry credentials.
  const malformed = endpoints.find((name) => !isHttpUrl(value(env, name) as string));
  if (malformed !== undefined) return { problem: `${malformed} is not an http(s) URL` };
  const protocol =
    value(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ??
    value(env, "OTEL_EXPORTER_OTLP_PROTOCOL") ??
    "http/protobuf";
  if (!PROTOCOLS.includes(protocol))
    return { problem: `OTLP protocol ${protocol} is not supported (use http/protobuf or http/json)` };
  return { enabled: true, protocol: protocol as OtlpProtocol };
}
