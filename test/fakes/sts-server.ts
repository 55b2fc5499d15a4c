import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { closeServer, fakeLog, listenOnLoopback, type RecordingFake, withBody } from "./loopback.ts";

/**
 * A loopback fake of the AWS STS Query API (https://docs.aws.amazon.com/STS/latest/APIReference/): form-encoded
 * POST with Action and Version=2011-06-15, answered with the real XML documents (…Response/…Result/Credentials)
 * and the real XML error document (<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>).
 * AssumeRole and AssumeRoleWithWebIdentity issue credentials; GetCallerIdentity answers (SDK clients signing
 * with brokered credentials call it).
 */

export interface StsRequest {
  action: string;
  /** Every form parameter, decoded. */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** SigV4 `Authorization` header, when the SDK signed the request. */
  authorization: string | undefined;
}

export interface StsFailure {
  status: number;
  type: "Sender" | "Receiver";
  code: string;
  message: string;
}

/** Failures as STS sends them. */
export const STS_FAILURES = {
  throttling: { status: 400, type: "Sender", code: "Throttling", message: "Rate exceeded" },
  internal: {
    status: 500,
    type: "Receiver",
    code: "InternalFailure",
    message: "internal failure SECRET-UPSTREAM-DETAIL",
  },
  unavailable: { status: 503, type: "Receiver", code: "ServiceUnavailable", message: "Service unavailable" },
  accessDenied: {
    status: 403,
    type: "Sender",
    code: "AccessDenied",
    message: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized SECRET-UPSTREAM-DETAIL",
  },
  invalidIdentityToken: {
    status: 400,
    type: "Sender",
    code: "InvalidIdentityToken",
    message: "Couldn't retrieve verification key from your identity provider SECRET-UPSTREAM-DETAIL",
  },
} satisfies Record<string, StsFailure>;

export interface IssuedStsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface FakeSts extends RecordingFake<StsRequest, IssuedStsCredentials, StsFailure> {
  /** Endpoint URL for the SDK's `endpoint` option. */
  url: string;
}

export interface FakeStsOptions {
  /** Epoch ms; the fake's `Expiration` is now + DurationSeconds (STS default 3600). */
  now?: () => number;
}

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export async function startFakeSts(options: FakeStsOptions = {}): Promise<FakeSts> {
  const now = options.now ?? Date.now;
  const { failures, ...log } = fakeLog<StsRequest, IssuedStsCredentials, StsFailure>();
  const { requests, issued } = log;
  let serial = 0;

  const server: Server = createServer(
    withBody((req, res, text) => {
      const requestId = `req-${++serial}`;
      const params = Object.fromEntries(new URLSearchParams(text));
      const action = params.Action ?? "";
      requests.push({ action, params, headers: req.headers, authorization: req.headers.authorization });

      const send = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(xml);
      };
      const failure = failures.shift();
      if (failure) return send(failure.status, errorXml(failure, requestId));
      if (req.method !== "POST" || params.Version !== "2011-06-15") {
        return send(
          400,
          errorXml({ status: 400, type: "Sender", code: "InvalidAction", message: "bad" }, requestId),
        );
      }
      if (action === "GetCallerIdentity") return send(200, callerIdentityXml(requestId));
      if (action !== "AssumeRole" && action !== "AssumeRoleWithWebIdentity") {
        return send(
          400,
          errorXml({ status: 400, type: "Sender", code: "InvalidAction", message: "bad" }, requestId),
        );
      }

      const duration = Number(params.DurationSeconds ?? "3600");
      const creds: IssuedStsCredentials = {
        accessKeyId: `ASIA${String(serial).padStart(16, "0")}`,
        secretAccessKey: randomBytes(30).toString("base64"),
        sessionToken: `FwoGZXIvYXdzE${randomBytes(96).toString("base64")}`,
        expiration: new Date(Math.floor(now() / 1000) * 1000 + duration * 1000),
      };
      issued.push(creds);
      send(200, successXml(action, params, creds, requestId));
    }),
  );
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, ...log, close: () => closeServer(server) };
}

/** `Tags.member.N.Key` / `Tags.member.N.Value` as a record. */
export function tagsOf(params: Record<string, string>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let n = 1; params[`Tags.member.${n}.Key`] !== undefined; n++) {
    tags[params[`Tags.member.${n}.Key`] ?? ""] = params[`Tags.member.${n}.Value`] ?? "";
  }
  return tags;
}

/** `TransitiveTagKeys.member.N` as a list. */
export function transitiveTagKeysOf(params: Record<string, string>): string[] {
  const keys: string[] = [];
  for (let n = 1; params[`TransitiveTagKeys.member.${n}`] !== undefined; n++) {
    keys.push(params[`TransitiveTagKeys.member.${n}`] ?? "");
  }
  return keys;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function successXml(
  action: string,
  params: Record<string, string>,
  creds: IssuedStsCredentials,
  requestId: string,
): string {
  const role = (params.RoleArn ?? "").replace(/^arn:aws:iam::(\d+):role\/(?:.*\/)?/, "");
  const account = /^arn:aws:iam::(\d+):/.exec(params.RoleArn ?? "")?.[1] ?? "123456789012";
  const session = params.RoleSessionName ?? "";
  const common = `
    <AssumedRoleUser>
      <Arn>arn:aws:sts::${account}:assumed-role/${esc(role)}/${esc(session)}</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:${esc(session)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${creds.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${esc(creds.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${esc(creds.sessionToken)}</SessionToken>
      <Expiration>${isoSeconds(creds.expiration)}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>`;
  const extra =
    action === "AssumeRoleWithWebIdentity"
      ? `
    <SubjectFromWebIdentityToken>subject</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <Provider>broker.example.com</Provider>`
      : params.SourceIdentity
        ? `
    <SourceIdentity>${esc(params.SourceIdentity)}</SourceIdentity>`
        : "";
  return `<${action}Response xmlns="${NS}">
  <${action}Result>${common}${extra}
  </${action}Result>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</${action}Response>
`;
}

/** GetCallerIdentity: who signed the call (the fake answers one fixed assumed-role identity). */
function callerIdentityXml(requestId: string): string {
  return `<GetCallerIdentityResponse xmlns="${NS}">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/deploy/session</Arn>
    <UserId>AROA3XFRBF535PLBIFPI4:session</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`;
}

function errorXml(f: StsFailure, requestId: string): string {
  return `<ErrorResponse xmlns="${NS}">
  <Error>
    <Type>${f.type}</Type>
    <Code>${esc(f.code)}</Code>
    <Message>${esc(f.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
}
