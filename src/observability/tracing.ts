import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { BrokerError } from "../errors.ts";

/**
 * Spans of the /token pipeline (CONTRACT §14) behind three functions, so the exchange code stays readable.
 *
 * OpenTelemetry's API is process-global by design (one tracer provider per process): the tracer is installed
 * here by the SDK loader (tracing-sdk.ts), which main.ts imports only when the OTEL_* environment asks for
 * tracing. Until then every function only runs its callback — no span objects, no context switch, no SDK code.
 * Stage spans are made only inside a /token trace, so a background key refresh or a /revoke upstream call does
 * not start traces of its own.
 *
 * Attribute values are names from the configuration (provider, policy), kinds and reason codes (reasons.ts):
 * never a token, claim value, subject, credential or key. No span records an exception (its message may quote
 * what a library was given); a failure is its reason code.
 */

/** Attribute names of the broker's spans; OpenTelemetry semantic-convention names where one exists. */
export const ATTR = {
  provider: "wif.provider",
  policy: "wif.policy",
  targetKind: "wif.target.kind",
  /** /token: `allow` or the OAuth error code (the `wif_exchanges_total` result label); decide: allow or deny. */
  result: "wif.result",
  /** A reason code of reasons.ts (the audit event's `reason`). */
  reason: "wif.reason",
  /** The failure's kind (errors.ts ErrorKind). */
  error: "wif.error",
  storeOperation: "wif.store.operation",
  upstream: "wif.upstream",
  upstreamAttempts: "wif.upstream.attempts",
  httpMethod: "http.request.method",
  httpRoute: "http.route",
  httpStatus: "http.response.status_code",
} as const;

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** How a span ends: attributes learned on the way, and the failure, if any (→ error status and reason code). */
export interface SpanEnd {
  attributes?: SpanAttributes;
  error?: unknown;
}

/** The /token server span as the route sees it: one call with what the request ended with. */
export interface RequestSpan {
  finish(end: SpanEnd): void;
}

/** A stage span as its callback sees it: attributes learned on the way, whichever way it ends. */
export interface SpanNotes {
  set(attributes: SpanAttributes): void;
}

let tracer: Tracer | undefined;

/** Called by the SDK loader only: spans are made from now on (undefined: never again). */
export function installTracer(t: Tracer | undefined): void {
  tracer = t;
}

const NO_REQUEST_SPAN: RequestSpan = { finish: () => undefined };
const NO_NOTES: SpanNotes = { set: () => undefined };

/** W3C Trace Context reads `traceparent` and `tracestate` through this from the request's headers. */
const HEADER_GETTER: TextMapGetter<(name: string) => string | undefined> = {
  get: (header, name) => header(name),
  keys: () => ["traceparent", "tracestate"],
};

/**
 * A server span for one request, the child of the caller's context when the request carries a W3C
 * `traceparent` (W3C Trace Context §3.2), a new trace otherwise.
 */
export function tracedRequest<T>(
  name: string,
  header: (name: string) => string | undefined,
  attributes: SpanAttributes,
  fn: (span: RequestSpan) => Promise<T>,
): Promise<T> {
  return tracer ? serve(tracer, name, header, attributes, fn) : fn(NO_REQUEST_SPAN);
}

async function serve<T>(
  t: Tracer,
  name: string,
  header: (name: string) => string | undefined,
  attributes: SpanAttributes,
  fn: (span: RequestSpan) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, header, HEADER_GETTER);
  const span = t.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  const handle: RequestSpan = { finish: (end) => finish(span, end) };
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(handle));
  } finally {
    span.end();
  }
}

/** Spans of one kind around an async `fn`; `end` says what the result adds to the span. */
const spanOfKind =
  (kind: SpanKind) =>
  <T>(
    name: string,
    attributes: SpanAttributes,
    fn: (span: SpanNotes) => Promise<T>,
    end?: (result: T) => SpanEnd,
  ): Promise<T> => {
    const parent = activeContext();
    return parent ? run(parent, name, kind, attributes, fn, end) : fn(NO_NOTES);
  };

/** An internal span around `fn` (a stage of the exchange). */
export const traced = spanOfKind(SpanKind.INTERNAL);

/** A client span around `fn` (an outbound call: an issuer's keys, an upstream API). */
export const tracedCall = spanOfKind(SpanKind.CLIENT);

/** An internal span around a synchronous `fn` (the decision, which is pure). */
export function tracedSync<T>(
  name: string,
  attributes: SpanAttributes,
  fn: () => T,
  end?: (result: T) => SpanEnd,
): T {
  const parent = activeContext();
  if (!parent) return fn();
  const span = start(name, SpanKind.INTERNAL, attributes, parent);
  try {
    const result = context.with(trace.setSpan(parent, span), fn);
    finish(span, end?.(result));
    return result;
  } catch (error) {
    finish(span, { error });
    throw error;
  } finally {
    span.end();
  }
}

async function run<T>(
  parent: Context,
  name: string,
  kind: SpanKind,
  attributes: SpanAttributes,
  fn: (span: SpanNotes) => Promise<T>,
  end: ((result: T) => SpanEnd) | undefined,
): Promise<T> {
  const span = start(name, kind, attributes, parent);
  const notes: SpanNotes = { set: (a) => span.setAttributes(a) };
  try {
    const result = await context.with(trace.setSpan(parent, span), () => fn(notes));
    finish(span, end?.(result));
    return result;
  } catch (error) {
    finish(span, { error });
    throw error;
  } finally {
    span.end();
  }
}

/** The current context when tracing is on and a /token trace is under way; undefined otherwise. */
function activeContext(): Context | undefined {
  if (!tracer) return undefined;
  const active = context.active();
  return trace.getSpan(active) ? active : undefined;
}

function start(name: string, kind: SpanKind, attributes: SpanAttributes, parent: Context): Span {
  return (tracer as Tracer).startSpan(name, { kind, attributes }, parent);
}

function finish(span: Span, end: SpanEnd | undefined): void {
  if (!end) return;
  if (end.attributes) span.setAttributes(end.attributes);
  if (end.error === undefined) return;
  const failure = failureOf(end.error);
  span.setAttributes({ [ATTR.error]: failure.kind, [ATTR.reason]: failure.reason });
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.reason });
}

/** What a span may say about a failure: the kind and reason code, never the message. */
function failureOf(error: unknown): { kind: string; reason: string } {
  return error instanceof BrokerError
    ? { kind: error.kind, reason: error.reason }
    : { kind: "server_error", reason: "internal" };
}
