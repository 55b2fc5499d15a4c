import { IAMCredentialsClient } from "@google-cloud/iam-credentials";
import { BrokerError } from "../errors.ts";
import { callUpstream } from "../upstream/call.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { RetryPolicy } from "../util/retry.ts";
import { type CredentialCache, createCredentialCache, credentialCacheKey } from "./credential-cache.ts";
import { type IssuedToken, type Minter, TOKEN_TYPE } from "./types.ts";

/**
 * GCP target (CONTRACT §5 `gcp`): a Google OAuth access token for a service account, from the IAM Service
 * Account Credentials API `generateAccessToken`, called over REST (google-gax "fallback" transport) with the
 * broker's Application Default Credentials (or an injected auth client).
 */

/** IAM Credentials: `lifetime` may be at most 3600 s unless the org policy extends it; the broker never asks more. */
export const GCP_MAX_LIFETIME = 3600;

type ClientOptions = NonNullable<ConstructorParameters<typeof IAMCredentialsClient>[0]>;

/**
 * The broker's Google identity when not Application Default Credentials: a google-auth-library AuthClient
 * (OAuth2Client, GoogleAuth, …). google-gax bundles its own google-auth-library major, whose classes do not
 * type-check against the application's; its REST transport only calls `getRequestHeaders()` and `fetch()`.
 */
export interface GcpAuthClient {
  getRequestHeaders(url?: string | URL): Promise<unknown>;
  fetch(input: string | URL, init?: RequestInit): Promise<unknown>;
}

export interface GcpMinterOptions {
  /** Host of the IAM Credentials API (default iamcredentials.googleapis.com). */
  apiEndpoint?: string;
  port?: number;
  protocol?: "http" | "https";
  /** The broker's Google identity; default: Application Default Credentials. */
  authClient?: GcpAuthClient;
  clock?: Clock;
  /** Issued-credential cache; default a fresh in-memory one, `null` disables caching. */
  cache?: CredentialCache | null;
  retry?: Partial<RetryPolicy>;
}

/** IAM Credentials resource names take the `-` project wildcard: replacing it with a project ID is invalid. */
const resourceName = (account: string) =>
  account.startsWith("projects/") ? account : `projects/-/serviceAccounts/${account}`;

export function createGcpMinter(options: GcpMinterOptions = {}): Minter {
  const clock = options.clock ?? systemClock;
  const cache = options.cache === undefined ? createCredentialCache() : options.cache;
  const client = new IAMCredentialsClient({
    fallback: true,
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    // The one cast: any google-auth-library major's AuthClient satisfies what the REST transport calls.
    ...(options.authClient === undefined
      ? {}
      : { authClient: options.authClient as unknown as NonNullable<ClientOptions["authClient"]> }),
  });

  return {
    kind: "gcp",
    async mint(grant, ctx) {
      /** CONTRACT §3: generateIdToken → a Google-signed ID token (Cloud Run, IAP), `token_type` N_A. */
      const mintIdToken = async (audience: string, includeEmail: boolean): Promise<IssuedToken> => {
        if (grant.target.kind !== "gcp") throw new TypeError("gcp grant expected");
        const { serviceAccount, delegates } = grant.target.gcp;
        const request = {
          name: resourceName(serviceAccount),
          audience,
          includeEmail,
          ...(delegates?.length ? { delegates: delegates.map(resourceName) } : {}),
        };
        const key = credentialCacheKey({
          target: "gcp-id",
          policy: grant.policy,
          subject: grant.subject,
          request,
        });
        const cached = cache?.get(key, clock());
        if (cached) return cached;
        const [response] = await callUpstream("gcp", ctx.signal, options.retry, () =>
          client.generateIdToken(request, { retry: null }),
        );
        const expiresAt = response.token ? idTokenExpiry(response.token) : undefined;
        if (!response.token || expiresAt === undefined) {
          throw new BrokerError("server_error", {
            reason: "upstream.gcp.error",
            detail: "incomplete GenerateIdTokenResponse",
          });
        }
        const now = clock();
        const token: IssuedToken = {
          accessToken: response.token,
          issuedTokenType: TOKEN_TYPE.idToken,
          tokenType: "N_A",
          expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)),
        };
        cache?.set(key, token, expiresAt, now);
        return token;
      };

      if (grant.target.kind !== "gcp") throw new TypeError(`gcp minter got a ${grant.target.kind} grant`);
      const gcp = grant.target.gcp;
      if (gcp.idTokenAudience !== undefined)
        return mintIdToken(gcp.idTokenAudience, gcp.includeEmail === true);
      // The decision resolved the scopes from gcp.scopes (all of them when the request named none).
      const scope = grant.scopes.length ? grant.scopes : (gcp.scopes ?? []);
      const lifetime = Math.max(
        1,
        Math.floor(Math.min(grant.ttl, gcp.lifetime ?? grant.ttl, GCP_MAX_LIFETIME)),
      );
      const request = {
        name: resourceName(gcp.serviceAccount),
        scope,
        lifetime: { seconds: lifetime },
        ...(gcp.delegates?.length ? { delegates: gcp.delegates.map(resourceName) } : {}),
      };
      const key = credentialCacheKey({
        target: "gcp",
        policy: grant.policy,
        subject: grant.subject,
        request,
      });
      const cached = cache?.get(key, clock());
      if (cached) return cached;

      // gax retries UNAVAILABLE on its own: off (`retry: null`), the retries here are bounded by the deadline.
      const response: { accessToken?: string | null; expireTime?: { seconds?: unknown } | null } = (
        await callUpstream("gcp", ctx.signal, options.retry, () =>
          client.generateAccessToken(request, { retry: null }),
        )
      )[0];

      // REST `expireTime` is an RFC 3339 Timestamp; gax decodes it to {seconds: string (int64), nanos}.
      const expireSeconds = Number(response.expireTime?.seconds);
      if (!response.accessToken || !Number.isFinite(expireSeconds)) {
        throw new BrokerError("server_error", {
          reason: "upstream.gcp.error",
          detail: "incomplete GenerateAccessTokenResponse",
        });
      }
      const now = clock();
      const expiresAt = expireSeconds * 1000;
      const token: IssuedToken = {
        accessToken: response.accessToken,
        issuedTokenType: TOKEN_TYPE.accessToken,
        tokenType: "Bearer",
        expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)),
        scope: scope.join(" "),
      };
      cache?.set(key, token, expiresAt, now);
      return token;
    },
  };
}

/**
 * The `exp` of a Google-signed ID token, epoch ms. The token came from Google over TLS and is handed on unchanged;
 * its payload is read only to tell the client when it expires (Google issues them for one hour).
 */
export function idTokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const exp: unknown = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown })
      .exp;
    return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
