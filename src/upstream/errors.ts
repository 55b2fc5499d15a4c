import { BrokerError } from "../errors.ts";

/**
 * The one place that turns what an upstream SDK threw into a BrokerError (CONTRACT §2: an upstream unavailable →
 * 503 with Retry-After; never an upstream message). Errors are recognised by shape, not by class, so this file
 * imports no SDK:
 *   - AWS SDK v3 service exceptions: `name` (the error code), `$fault`, `$metadata.httpStatusCode`
 *   - gaxios (google-gax REST transport): numeric HTTP `status`, `response.headers`
 *   - google-gax GoogleError: numeric gRPC `code` (0–16)
 *   - @kubernetes/client-node ApiException: numeric HTTP `code`, `headers`
 *   - Node/undici network errors: a system `code` (ECONNREFUSED…) on the error or along its `cause` chain
 * The BrokerError carries only a code name in `detail` and no `cause`: SDK errors hold request configs (the
 * broker's own bearer token in gaxios' `config.headers`) and upstream messages that must never reach a log.
 */

export type UpstreamTarget = "aws" | "gcp" | "kubernetes" | "aws-kms" | "gcp-kms" | "github";

export type UpstreamFailureClass =
  /** the upstream asks us to slow down: retryable */
  | "throttled"
  /** 5xx, network, upstream timeout: retryable */
  | "unavailable"
  /** our own request deadline passed: not retried */
  | "deadline"
  /** the upstream refused this target (permission, not found, invalid input): not retried */
  | "refused"
  /** anything else, including the broker's own credentials being rejected: not retried */
  | "unknown";

export interface UpstreamFailure {
  class: UpstreamFailureClass;
  /** An error code name safe to show (`Throttling`, `HTTP 403`, `PERMISSION_DENIED`, `ECONNREFUSED`). */
  code: string;
  /** Seconds, when the upstream said (Retry-After). */
  retryAfter?: number;
}

/** AWS SDK retry strategy's throttling codes (@smithy/service-error-classification THROTTLING_ERROR_CODES). */
const AWS_THROTTLING = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);

/**
 * STS: "IDPCommunicationError — the identity provider could not be reached … retry the request". A 400 that is
 * really an upstream outage.
 */
const AWS_TRANSIENT = new Set(["IDPCommunicationError", "RequestTimeout", "RequestTimeoutException"]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/** google.rpc.Code names, by number. */
const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** Default Retry-After when the upstream gave none (seconds). */
const DEFAULT_RETRY_AFTER: Record<"throttled" | "unavailable" | "deadline", number> = {
  throttled: 2,
  unavailable: 5,
  deadline: 5,
};

type Shape = Record<string, unknown>;
const isObject = (v: unknown): v is Shape => typeof v === "object" && v !== null;

export function classifyUpstreamError(error: unknown, signal?: AbortSignal): UpstreamFailure {
  if (signal?.aborted) return { class: "deadline", code: "deadline" };
  if (!isObject(error)) return { class: "unknown", code: "non-error" };
  const name = typeof error.name === "string" ? error.name : "Error";

  if (name === "AbortError") return { class: "deadline", code: "aborted" };

  const network = networkCode(error);
  if (network) return { class: "unavailable", code: network };

  // AWS SDK v3 service exception.
  if (typeof error.$fault === "string" && isObject(error.$metadata)) {
    const status = typeof error.$metadata.httpStatusCode === "number" ? error.$metadata.httpStatusCode : 0;
    if (AWS_THROTTLING.has(name) || status === 429) return { class: "throttled", code: name };
    if (AWS_TRANSIENT.has(name) || error.$fault === "server" || status >= 500) {
      return { class: "unavailable", code: name };
    }
    return { class: "refused", code: name };
  }
  // AWS SDK client-side request timeout (requestTimeout of the HTTP handler).
  if (name === "TimeoutError") return { class: "unavailable", code: "TimeoutError" };

  // gaxios: `status` is the HTTP status; k8s ApiException: `code` is the HTTP status.
  const httpStatus = numberIn(error.status, 100, 599) ?? numberIn(error.code, 100, 599);
  if (httpStatus !== undefined) return classifyHttp(httpStatus, retryAfterOf(error));

  // google-gax GoogleError: `code` is a google.rpc.Code.
  const grpc = numberIn(error.code, 0, 16);
  if (grpc !== undefined) return classifyGrpc(grpc);

  return { class: "unknown", code: name };
}

function classifyHttp(status: number, retryAfter: number | undefined): UpstreamFailure {
  const code = `HTTP ${status}`;
  const withRetryAfter = (f: UpstreamFailure): UpstreamFailure =>
    retryAfter === undefined ? f : { ...f, retryAfter };
  if (status === 429) return withRetryAfter({ class: "throttled", code });
  if (status >= 500) return withRetryAfter({ class: "unavailable", code });
  // 401: the upstream rejected the broker's own credentials: an operator problem, not the client's target.
  if (status === 401) return { class: "unknown", code };
  if (status >= 400) return { class: "refused", code };
  return { class: "unknown", code };
}

function classifyGrpc(grpc: number): UpstreamFailure {
  const code = GRPC_CODES[grpc] ?? `gRPC ${grpc}`;
  switch (code) {
    case "RESOURCE_EXHAUSTED":
      return { class: "throttled", code };
    case "UNAVAILABLE":
    case "INTERNAL":
    case "DEADLINE_EXCEEDED":
    case "ABORTED":
      return { class: "unavailable", code };
    case "PERMISSION_DENIED":
    case "NOT_FOUND":
    case "INVALID_ARGUMENT":
    case "FAILED_PRECONDITION":
    case "OUT_OF_RANGE":
      return { class: "refused", code };
    default:
      return { class: "unknown", code };
  }
}

function networkCode(error: Shape): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && isObject(current); depth++) {
    if (typeof current.code === "string" && NETWORK_CODES.has(current.code)) return current.code;
    current = current.cause;
  }
  return undefined;
}

function numberIn(v: unknown, min: number, max: number): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : undefined;
}

/** RFC 9110 §10.2.3 Retry-After as delay-seconds (an HTTP-date is ignored), from whatever header shape. */
function retryAfterOf(error: Shape): number | undefined {
  const sources = [error.headers, isObject(error.response) ? error.response.headers : undefined];
  for (const headers of sources) {
    let raw: unknown;
    // A fetch Headers (possibly another realm's: gaxios brings its own), or a plain record (k8s ApiException).
    if (isObject(headers) && typeof headers.get === "function") raw = headers.get("retry-after");
    else if (isObject(headers)) raw = headers["retry-after"] ?? headers["Retry-After"];
    if (typeof raw === "string" && /^\d{1,6}$/.test(raw.trim())) return Number(raw.trim());
  }
  return undefined;
}

/** Retry predicate for util/retry.ts: throttling and outages only. */
export const isRetryableUpstream = (error: unknown): boolean => {
  const c = classifyUpstreamError(error).class;
  return c === "throttled" || c === "unavailable";
};

/**
 * Maps an upstream failure to the BrokerError the HTTP layer answers with. A BrokerError passes through.
 * Pass the request's signal so a failure caused by the deadline reads as `deadline`.
 */
export function upstreamError(target: UpstreamTarget, error: unknown, signal?: AbortSignal): BrokerError {
  if (error instanceof BrokerError) return error;
  const failure = classifyUpstreamError(error, signal);
  switch (failure.class) {
    case "throttled":
    case "unavailable":
    case "deadline":
      return new BrokerError("unavailable", {
        reason: `upstream.${target}.unavailable`,
        detail: failure.code,
        retryAfter: Math.min(Math.max(failure.retryAfter ?? DEFAULT_RETRY_AFTER[failure.class], 1), 300),
      });
    case "refused":
      return new BrokerError("invalid_target", {
        reason: `upstream.${target}.refused`,
        detail: failure.code,
      });
    default:
      return new BrokerError("server_error", { reason: `upstream.${target}.error`, detail: failure.code });
  }
}
