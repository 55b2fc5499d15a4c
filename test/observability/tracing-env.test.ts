import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tracingSettings } from "../../src/observability/tracing-env.ts";

const ENDPOINT = "http://collector:4318";

describe("tracingSettings: the standard OTEL_* environment decides whether the SDK is loaded", () => {
  const cases: Array<[string, Record<string, string>, ReturnType<typeof tracingSettings>]> = [
    ["nothing set", {}, { enabled: false }],
    ["OTEL_SERVICE_NAME alone (platforms set it everywhere)", { OTEL_SERVICE_NAME: "b" }, { enabled: false }],
    ["an empty endpoint is unset", { OTEL_EXPORTER_OTLP_ENDPOINT: " " }, { enabled: false }],
    ["an endpoint", { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT }, { enabled: true, protocol: "http/protobuf" }],
    [
      "a traces endpoint",
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` },
      { enabled: true, protocol: "http/protobuf" },
    ],
    [
      "OTEL_TRACES_EXPORTER=otlp (the SDK's default endpoint)",
      { OTEL_TRACES_EXPORTER: "otlp" },
      { enabled: true, protocol: "http/protobuf" },
    ],
    [
      "exporter names are case-insensitive",
      { OTEL_TRACES_EXPORTER: " OTLP " },
      { enabled: true, protocol: "http/protobuf" },
    ],
    [
      "OTEL_SDK_DISABLED=true wins",
      { OTEL_SDK_DISABLED: "TRUE", OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT },
      { enabled: false },
    ],
    [
      "OTEL_SDK_DISABLED other than true is false",
      { OTEL_SDK_DISABLED: "1", OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT },
      { enabled: true, protocol: "http/protobuf" },
    ],
    [
      "none wins",
      { OTEL_TRACES_EXPORTER: "otlp,none", OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT },
      { enabled: false },
    ],
    [
      "http/json, the traces-specific protocol first",
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      },
      { enabled: true, protocol: "http/json" },
    ],
    [
      "grpc is refused",
      { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      { problem: "OTLP protocol grpc is not supported (use http/protobuf or http/json)" },
    ],
    [
      "another exporter is refused",
      { OTEL_TRACES_EXPORTER: "otlp,console" },
      { problem: "OTEL_TRACES_EXPORTER console is not supported (use otlp or none)" },
    ],
    [
      "an endpoint that is not a URL is refused, without echoing it",
      { OTEL_EXPORTER_OTLP_ENDPOINT: "user:secret@collector" },
      { problem: "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL" },
    ],
    [
      "either endpoint is checked",
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces`,
        OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector",
      },
      { problem: "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL" },
    ],
    [
      "an https endpoint",
      { OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318" },
      { enabled: true, protocol: "http/protobuf" },
    ],
    [
      "a protocol without an endpoint does not turn tracing on",
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      { enabled: false },
    ],
  ];
  for (const [name, env, expected] of cases) it(name, () => assert.deepEqual(tracingSettings(env), expected));
});
