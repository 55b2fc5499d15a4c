import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/**
 * A loopback OTLP/HTTP trace receiver (OpenTelemetry Protocol §"OTLP/HTTP"): POST /v1/traces with an
 * ExportTraceServiceRequest as binary protobuf (application/x-protobuf) or as OTLP JSON (application/json).
 * Decoded by hand from opentelemetry-proto's field numbers (collector/trace/v1, trace/v1, common/v1,
 * resource/v1), so the real SDK exporter is what proves this decoder, and the decoder what checks the exporter.
 */

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** opentelemetry-proto Span.SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  /** Status.StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  /** Attributes of the span's events and links, for scans. */
  eventAttributes: Array<Record<string, AttributeValue>>;
  resource: Record<string, AttributeValue>;
  scope: string;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  /** Every span received so far, in arrival order. */
  spans: ReceivedSpan[];
  /** Every request body exactly as received, for scans of the raw wire bytes. */
  bodies: Buffer[];
  /** Content types of the requests, in order. */
  contentTypes: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: Buffer[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404).end();
      return;
    }
    bodies.push(body);
    contentTypes.push(type);
    try {
      if (type === "application/x-protobuf") {
        spans.push(...decodeProtobufRequest(body));
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } else if (type === "application/json") {
        spans.push(...decodeJsonRequest(JSON.parse(body.toString("utf8"))));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else res.writeHead(415).end();
    } catch {
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// ---- binary protobuf -------------------------------------------------------------------------------------------

/**
 * Calls `field` for each field of the message in `bytes`; fields it does not take (false) are skipped. Callers take
 * fields by number only: in these messages a field number fixes its wire type.
 */
function eachField(bytes: Uint8Array, field: (no: number, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (!field(no, r)) r.skip(wireType, no);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** common/v1 AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array, 6 kvlist, 7 bytes. */
function anyValue(bytes: Uint8Array): AttributeValue {
  let value: AttributeValue = "";
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === 1) value = r.string();
    else if (no === 2) value = r.bool();
    else if (no === 3) value = Number(r.int64());
    else if (no === 4) value = r.double();
    else if (no === 5 || no === 6) value = JSON.stringify(nested(r.bytes()));
    else if (no === 7) value = hex(r.bytes());
    else r.skip(wireType, no);
  }
  return value;
}

/** ArrayValue (1: repeated AnyValue) or KeyValueList (1: repeated KeyValue), flattened for scans. */
function nested(bytes: Uint8Array): AttributeValue[] {
  const out: AttributeValue[] = [];
  eachField(bytes, (no, r) => {
    if (no !== 1) return false;
    const inner = r.bytes();
    out.push(anyValue(inner), ...Object.values(keyValue(inner)));
    return true;
  });
  return out;
}

/** common/v1 KeyValue: 1 key, 2 value. */
function keyValue(bytes: Uint8Array): Record<string, AttributeValue> {
  let key = "";
  let value: AttributeValue = "";
  eachField(bytes, (no, r) => {
    if (no === 1) key = r.string();
    else if (no === 2) value = anyValue(r.bytes());
    else return false;
    return true;
  });
  return key === "" ? {} : { [key]: value };
}

/** Messages whose field `attributesField` holds repeated KeyValue (Resource 1, Span 9, Event 3, Link 4). */
function attributesOf(bytes: Uint8Array, attributesField: number): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  eachField(bytes, (no, r) => {
    if (no !== attributesField) return false;
    Object.assign(attributes, keyValue(r.bytes()));
    return true;
  });
  return attributes;
}

/** trace/v1 Span. */
function span(bytes: Uint8Array, resource: Record<string, AttributeValue>, scope: string): ReceivedSpan {
  const s: ReceivedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    traceState: "",
    name: "",
    kind: 0,
    attributes: {},
    status: { code: 0, message: "" },
    eventAttributes: [],
    resource,
    scope,
  };
  eachField(bytes, (no, r) => {
    if (no === 1) s.traceId = hex(r.bytes());
    else if (no === 2) s.spanId = hex(r.bytes());
    else if (no === 3) s.traceState = r.string();
    else if (no === 4) s.parentSpanId = hex(r.bytes());
    else if (no === 5) s.name = r.string();
    else if (no === 6) s.kind = r.int32();
    else if (no === 9) Object.assign(s.attributes, keyValue(r.bytes()));
    else if (no === 11) s.eventAttributes.push(attributesOf(r.bytes(), 3));
    else if (no === 13) s.eventAttributes.push(attributesOf(r.bytes(), 4));
    else if (no === 15) {
      // Status: 2 message, 3 code.
      eachField(r.bytes(), (sno, sr) => {
        if (sno === 2) s.status.message = sr.string();
        else if (sno === 3) s.status.code = sr.int32();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return s;
}

/** collector/trace/v1 ExportTraceServiceRequest → ResourceSpans (1 resource, 2 scope_spans) → ScopeSpans. */
export function decodeProtobufRequest(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  eachField(body, (no, r) => {
    if (no !== 1) return false;
    const resourceSpans = r.bytes();
    let resource: Record<string, AttributeValue> = {};
    eachField(resourceSpans, (rno, rr) => {
      if (rno !== 1) return false;
      resource = attributesOf(rr.bytes(), 1);
      return true;
    });
    eachField(resourceSpans, (rno, rr) => {
      if (rno !== 2) return false;
      const scopeSpans = rr.bytes();
      let scope = "";
      eachField(scopeSpans, (sno, sr) => {
        if (sno === 1) {
          eachField(sr.bytes(), (ino, ir) => {
            if (ino !== 1) return false;
            scope = ir.string();
            return true;
          });
        } else if (sno === 2) out.push(span(sr.bytes(), resource, scope));
        else return false;
        return true;
      });
      return true;
    });
    return true;
  });
  return out;
}

// ---- OTLP JSON ---------------------------------------------------------------------------------------------------

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function jsonValue(v: Record<string, unknown>): AttributeValue {
  if (typeof v.stringValue === "string") return v.stringValue;
  if (typeof v.boolValue === "boolean") return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (typeof v.doubleValue === "number") return v.doubleValue;
  return JSON.stringify(v);
}

const jsonAttributes = (list: unknown): Record<string, AttributeValue> =>
  Object.fromEntries(((list as JsonKeyValue[] | undefined) ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

/** The OTLP JSON mapping: ids as hex strings, enums as numbers. */
export function decodeJsonRequest(doc: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of (doc as { resourceSpans?: Array<Record<string, unknown>> }).resourceSpans ?? []) {
    const resource = jsonAttributes((rs.resource as { attributes?: unknown } | undefined)?.attributes);
    for (const ss of (rs.scopeSpans as Array<Record<string, unknown>> | undefined) ?? []) {
      const scope = String((ss.scope as { name?: unknown } | undefined)?.name ?? "");
      for (const s of (ss.spans as Array<Record<string, unknown>> | undefined) ?? []) {
        const status = (s.status as { code?: number; message?: string } | undefined) ?? {};
        out.push({
          traceId: String(s.traceId ?? ""),
          spanId: String(s.spanId ?? ""),
          parentSpanId: String(s.parentSpanId ?? ""),
          traceState: String(s.traceState ?? ""),
          name: String(s.name ?? ""),
          kind: Number(s.kind ?? 0),
          attributes: jsonAttributes(s.attributes),
          status: { code: status.code ?? 0, message: status.message ?? "" },
          eventAttributes: [
            ...((s.events as Array<{ attributes?: unknown }> | undefined) ?? []),
            ...((s.links as Array<{ attributes?: unknown }> | undefined) ?? []),
          ].map((e) => jsonAttributes(e.attributes)),
          resource,
          scope,
        });
      }
    }
  }
  return out;
}
