import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import {
  closeServer,
  fakeLog,
  jsonResponder,
  listenOnLoopback,
  type RecordingFake,
  withBody,
} from "./loopback.ts";

/**
 * A loopback fake of the two Kubernetes API calls the broker makes:
 *   POST /api/v1/namespaces/{ns}/serviceaccounts/{sa}/token          authentication.k8s.io/v1 TokenRequest
 *   POST /apis/authentication.k8s.io/v1/tokenreviews                 authentication.k8s.io/v1 TokenReview
 * Plain HTTP on 127.0.0.1 with bearer-token authentication; errors are meta/v1 Status objects.
 */

export interface KubeRequest {
  path: string;
  namespace?: string;
  serviceAccount?: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
}

export interface KubeFailure {
  code: number;
  reason: string;
  message: string;
  retryAfter?: number;
}

export const KUBE_FAILURES = {
  forbidden: {
    code: 403,
    reason: "Forbidden",
    message:
      'serviceaccounts "deployer" is forbidden: User "system:serviceaccount:wif:broker" cannot create resource SECRET-UPSTREAM-DETAIL',
  },
  notFound: {
    code: 404,
    reason: "NotFound",
    message: 'serviceaccounts "deployer" not found SECRET-UPSTREAM-DETAIL',
  },
  tooManyRequests: { code: 429, reason: "TooManyRequests", message: "too many requests", retryAfter: 7 },
  internal: {
    code: 500,
    reason: "InternalError",
    message: "etcdserver: request timed out SECRET-UPSTREAM-DETAIL",
  },
  unavailable: {
    code: 503,
    reason: "ServiceUnavailable",
    message: "the server is currently unable to handle the request",
  },
} satisfies Record<string, KubeFailure>;

export interface ReviewableToken {
  username: string;
  uid: string;
  audiences: string[];
  groups?: string[];
  /** false: answer like an audience-unaware authenticator (authenticated, but no status.audiences). */
  audienceAware?: boolean;
}

export interface FakeKubernetes extends RecordingFake<KubeRequest, string, KubeFailure> {
  url: string;
  /** The bearer token the fake API server accepts from the broker. */
  bearerToken: string;
  /** Tokens issued by TokenRequest, in order. */
  issued: string[];
  /** Makes `token` pass TokenReview with this identity. */
  addReviewableToken(token: string, who: ReviewableToken): void;
}

const TOKEN_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;
const REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews";

export async function startFakeKubernetes(options: { now?: () => number } = {}): Promise<FakeKubernetes> {
  const now = options.now ?? Date.now;
  const bearerToken = `broker-${randomBytes(8).toString("hex")}`;
  const { failures, ...log } = fakeLog<KubeRequest, string, KubeFailure>();
  const { requests, issued } = log;
  const reviewable = new Map<string, ReviewableToken>();

  const server: Server = createServer(
    withBody((req, res, text) => {
      const json = jsonResponder(res);
      const fail = (f: KubeFailure) =>
        json(f.code, status(f), f.retryAfter === undefined ? {} : { "retry-after": String(f.retryAfter) });

      const path = new URL(req.url ?? "/", "http://x").pathname;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text || "{}") as Record<string, unknown>;
      } catch {
        return fail({ code: 400, reason: "BadRequest", message: "bad json" });
      }
      const tokenMatch = TOKEN_PATH.exec(path);
      const record: KubeRequest = {
        path,
        body,
        headers: req.headers,
        authorization: req.headers.authorization,
      };
      if (tokenMatch) {
        record.namespace = tokenMatch[1] ?? "";
        record.serviceAccount = tokenMatch[2] ?? "";
      }
      requests.push(record);

      if (req.headers.authorization !== `Bearer ${bearerToken}`) {
        return fail({ code: 401, reason: "Unauthorized", message: "Unauthorized" });
      }
      const failure = failures.shift();
      if (failure) return fail(failure);
      if (req.method !== "POST") return fail({ code: 405, reason: "MethodNotAllowed", message: "POST only" });

      if (tokenMatch) {
        const [, namespace = "", name = ""] = tokenMatch;
        const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number };
        if (body.kind !== "TokenRequest" || body.apiVersion !== "authentication.k8s.io/v1") {
          return fail({ code: 400, reason: "BadRequest", message: "expected a TokenRequest" });
        }
        // kube-apiserver: expirationSeconds must be at least 600 (10 minutes).
        if (spec.expirationSeconds !== undefined && spec.expirationSeconds < 600) {
          return fail({
            code: 422,
            reason: "Invalid",
            message: "may not specify a duration less than 10 minutes",
          });
        }
        const iat = Math.floor(now() / 1000);
        const exp = iat + (spec.expirationSeconds ?? 3600);
        const audiences = spec.audiences?.length ? spec.audiences : ["https://kubernetes.default.svc"];
        const jti = randomUUID();
        const token = [
          Buffer.from(JSON.stringify({ alg: "RS256", kid: "fake" })).toString("base64url"),
          Buffer.from(
            JSON.stringify({
              aud: audiences,
              exp,
              iat,
              iss: "https://kubernetes.default.svc",
              jti,
              sub: `system:serviceaccount:${namespace}:${name}`,
            }),
          ).toString("base64url"),
          randomBytes(64).toString("base64url"),
        ].join(".");
        issued.push(token);
        return json(201, {
          kind: "TokenRequest",
          apiVersion: "authentication.k8s.io/v1",
          metadata: {
            name,
            namespace,
            creationTimestamp: new Date(iat * 1000).toISOString().replace(".000Z", "Z"),
          },
          spec: { audiences, expirationSeconds: exp - iat, boundObjectRef: null },
          status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(".000Z", "Z") },
        });
      }

      if (path === REVIEW_PATH) {
        const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
        const who = reviewable.get(spec.token ?? "");
        const wanted = spec.audiences ?? [];
        const matched = who
          ? wanted.length
            ? who.audiences.filter((a) => wanted.includes(a))
            : who.audiences
          : [];
        const unaware = who?.audienceAware === false;
        const ok = who !== undefined && (unaware || matched.length > 0);
        return json(201, {
          kind: "TokenReview",
          apiVersion: "authentication.k8s.io/v1",
          metadata: { creationTimestamp: null },
          spec: { token: spec.token, audiences: wanted },
          status: ok
            ? {
                authenticated: true,
                user: {
                  username: who.username,
                  uid: who.uid,
                  groups: who.groups ?? ["system:serviceaccounts"],
                },
                ...(unaware ? {} : { audiences: matched }),
              }
            : { user: {}, error: "[invalid bearer token, token lookup failed]" },
        });
      }
      return fail({
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource",
      });
    }),
  );
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    bearerToken,
    ...log,
    addReviewableToken: (token, who) => reviewable.set(token, who),
    close: () => closeServer(server),
  };
}

/** A KubeConfig pointing at `fake` (or at `server`, for a dead endpoint), with its bearer token. */
export function kubeConfigFor(
  fake: { url: string; bearerToken: string },
  server: string = fake.url,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "broker", token: fake.bearerToken }],
    contexts: [{ name: "fake", cluster: "fake", user: "broker" }],
    currentContext: "fake",
  });
  return kc;
}

function status(f: KubeFailure): unknown {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: f.message,
    reason: f.reason,
    details: {},
    code: f.code,
  };
}
