import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import {
  closeServer,
  fakeLog,
  jsonResponder,
  listenOnLoopback,
  type RecordingFake,
  withBody,
} from "./loopback.ts";

/**
 * A loopback fake of the IAM Service Account Credentials REST API
 * (https://cloud.google.com/iam/docs/reference/credentials/rest):
 *   POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken  {delegates?, scope[], lifetime: "600s"}
 *        → {accessToken, expireTime: RFC 3339}
 *   POST /v1/projects/-/serviceAccounts/{email}:generateIdToken      {delegates?, audience, includeEmail?}
 *        → {token}
 * Errors use Google's JSON error format: {"error": {code, message, status, details[]}}.
 */

export interface IamCredentialsRequest {
  method: "generateAccessToken" | "generateIdToken" | string;
  /** The `{email}` of the resource name, decoded. */
  serviceAccount: string;
  /** The resource name segment as sent (`projects/-/serviceAccounts/…`). */
  name: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
}

export interface IamFailure {
  /** 0: never answer (the client must give up at its own deadline). */
  status: number;
  statusName: string;
  message: string;
  reason?: string;
  retryAfter?: number;
}

export const IAM_FAILURES = {
  rateLimited: {
    status: 429,
    statusName: "RESOURCE_EXHAUSTED",
    message: "Quota exceeded SECRET-UPSTREAM-DETAIL",
    reason: "RATE_LIMIT_EXCEEDED",
  },
  unavailable: { status: 503, statusName: "UNAVAILABLE", message: "The service is currently unavailable." },
  permissionDenied: {
    status: 403,
    statusName: "PERMISSION_DENIED",
    message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource SECRET-UPSTREAM-DETAIL",
    reason: "IAM_PERMISSION_DENIED",
  },
  hang: { status: 0, statusName: "", message: "" },
  notFound: {
    status: 404,
    statusName: "NOT_FOUND",
    message: "Not found; Gaia id not found SECRET-UPSTREAM-DETAIL",
  },
} satisfies Record<string, IamFailure>;

export interface FakeIamCredentials extends RecordingFake<IamCredentialsRequest, string, IamFailure> {
  /** For the client's apiEndpoint/port/protocol options. */
  host: string;
  port: number;
}

const PATH = /^\/v1\/(projects\/-\/serviceAccounts\/([^/:]+)):(generateAccessToken|generateIdToken)$/;

/** proto3 JSON Duration: "600s" or "1.5s". */
const durationSeconds = (v: unknown): number | undefined =>
  typeof v === "string" && /^\d+(\.\d+)?s$/.test(v) ? Number(v.slice(0, -1)) : undefined;

/** The key Google signs the fake's ID tokens with (tests verify them against GOOGLE_ID_TOKEN_KEY). */
const googleKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
export const GOOGLE_ID_TOKEN_KEY = googleKey.publicKey;

/** An ID token as generateIdToken returns it: RS256 by Google, iss accounts.google.com, one hour. */
function googleIdToken(
  serviceAccount: string,
  audience: string,
  includeEmail: boolean,
  nowMs: number,
): string {
  const iat = Math.floor(nowMs / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const claims = {
    aud: audience,
    azp: "113475437898456374545",
    exp: iat + 3600,
    iat,
    iss: "https://accounts.google.com",
    sub: "113475437898456374545",
    ...(includeEmail ? { email: serviceAccount, email_verified: true } : {}),
  };
  const input = `${b64({ alg: "RS256", kid: "google-fake", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${sign("sha256", Buffer.from(input), googleKey.privateKey).toString("base64url")}`;
}

export async function startFakeIamCredentials(
  options: { now?: () => number } = {},
): Promise<FakeIamCredentials> {
  const now = options.now ?? Date.now;
  const { failures, ...log } = fakeLog<IamCredentialsRequest, string, IamFailure>();
  const { requests, issued } = log;

  const server: Server = createServer(
    withBody((req, res, text) => {
      const json = jsonResponder(res, "application/json; charset=UTF-8");
      const url = new URL(req.url ?? "/", "http://x");
      const m = PATH.exec(decodeURIComponent(url.pathname));
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text || "{}") as Record<string, unknown>;
      } catch {
        return json(400, googleError({ status: 400, statusName: "INVALID_ARGUMENT", message: "bad json" }));
      }
      if (req.method !== "POST" || !m) {
        return json(404, googleError({ status: 404, statusName: "NOT_FOUND", message: "no such method" }));
      }
      const [, name = "", serviceAccount = "", method = ""] = m;
      requests.push({
        method,
        serviceAccount,
        name,
        body,
        headers: req.headers,
        authorization: req.headers.authorization,
      });

      const failure = failures.shift();
      if (failure?.status === 0) return;
      if (failure) {
        const headers: Record<string, string> =
          failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) };
        return json(failure.status, googleError(failure), headers);
      }
      if (!req.headers.authorization?.startsWith("Bearer ")) {
        return json(
          401,
          googleError({ status: 401, statusName: "UNAUTHENTICATED", message: "no credentials" }),
        );
      }
      if (method === "generateAccessToken") {
        const scope = body.scope;
        if (!Array.isArray(scope) || scope.length === 0) {
          return json(
            400,
            googleError({ status: 400, statusName: "INVALID_ARGUMENT", message: "scope required" }),
          );
        }
        const lifetime = body.lifetime === undefined ? 3600 : durationSeconds(body.lifetime);
        if (lifetime === undefined || lifetime > 3600) {
          return json(
            400,
            googleError({ status: 400, statusName: "INVALID_ARGUMENT", message: "bad lifetime" }),
          );
        }
        const accessToken = `ya29.c.${randomBytes(48).toString("base64url")}`;
        issued.push(accessToken);
        const expireTime = new Date(Math.floor(now() / 1000) * 1000 + lifetime * 1000).toISOString();
        return json(200, { accessToken, expireTime: expireTime.replace(/\.000Z$/, "Z") });
      }
      if (typeof body.audience !== "string" || body.audience === "") {
        return json(
          400,
          googleError({ status: 400, statusName: "INVALID_ARGUMENT", message: "audience required" }),
        );
      }
      const token = googleIdToken(serviceAccount, body.audience, body.includeEmail === true, now());
      issued.push(token);
      return json(200, { token });
    }),
  );
  const port = await listenOnLoopback(server);
  return { host: "127.0.0.1", port, ...log, close: () => closeServer(server) };
}

function googleError(f: IamFailure): unknown {
  return {
    error: {
      code: f.status,
      message: f.message,
      status: f.statusName,
      ...(f.reason
        ? {
            details: [
              {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                reason: f.reason,
                domain: "iam.googleapis.com",
                metadata: { service: "iamcredentials.googleapis.com" },
              },
            ],
          }
        : {}),
    },
  };
}
