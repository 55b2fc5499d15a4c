import { createHash, randomUUID } from "node:crypto";
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  type Credentials,
  STSClient,
  type STSClientConfig,
  type Tag,
} from "@aws-sdk/client-sts";
import { BrokerError } from "../errors.ts";
import type { Grant, RenderedAws } from "../policy/types.ts";
import type { Reason } from "../reasons.ts";
import { callUpstream } from "../upstream/call.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { RetryPolicy } from "../util/retry.ts";
import { AWS_SOURCE_IDENTITY_CLAIM, AWS_TAGS_CLAIM, STS_AUDIENCE } from "./aws-claims.ts";
import { type CredentialCache, createCredentialCache, credentialCacheKey } from "./credential-cache.ts";
import { rdsAuthToken } from "./database/admin-login.ts";
import type { TokenSigner } from "./signer.ts";
import { type IssuedToken, type Minter, TOKEN_TYPE } from "./types.ts";

/**
 * AWS target (CONTRACT §5 `aws`): STS credentials, answered as a `credential_process` document.
 *   webIdentity (default): the broker signs a short JWT for `sts.amazonaws.com` and calls
 *     AssumeRoleWithWebIdentity, an unsigned STS call: the broker holds no AWS credentials.
 *   assumeRole: AssumeRole signed with the broker's own identity (SDK default chain unless injected).
 */

export { AWS_SOURCE_IDENTITY_CLAIM, AWS_TAGS_CLAIM, STS_AUDIENCE } from "./aws-claims.ts";

/** RDS IAM auth tokens are valid for 15 minutes (the presigned URL's X-Amz-Expires). */
const RDS_TOKEN_SECONDS = 900;

/**
 * CONTRACT §8 `aws.rdsAuthToken`: an RDS IAM auth token for `username` at `hostname:port`, signed (SigV4 presign,
 * locally: no AWS call) with the role credentials just obtained, instead of handing out the credentials. It lives
 * 15 minutes, or less when the role session ends sooner.
 */
async function rdsToken(
  rds: NonNullable<RenderedAws["rdsAuthToken"]>,
  credentials: IssuedToken,
  region: string,
  now: number,
): Promise<IssuedToken> {
  const doc = JSON.parse(credentials.accessToken) as {
    AccessKeyId: string;
    SecretAccessKey: string;
    SessionToken?: string;
    Expiration: string;
  };
  const token = await rdsAuthToken(
    { host: rds.hostname, port: rds.port, user: rds.username, region: rds.region ?? region },
    {
      accessKeyId: doc.AccessKeyId,
      secretAccessKey: doc.SecretAccessKey,
      ...(doc.SessionToken ? { sessionToken: doc.SessionToken } : {}),
    },
  );
  const left = Math.floor((Date.parse(doc.Expiration) - now) / 1000);
  return {
    accessToken: token,
    issuedTokenType: TOKEN_TYPE.rdsAuthToken,
    tokenType: "N_A",
    expiresIn: Math.max(0, Math.min(RDS_TOKEN_SECONDS, left)),
    ...(credentials.jti ? { jti: credentials.jti } : {}),
  };
}

/** STS DurationSeconds bounds: at least 15 minutes, at most 12 hours (the role's own maximum may be lower). */
export const STS_MIN_DURATION = 900;
export const STS_MAX_DURATION = 43_200;
/**
 * CONTRACT §3: credentials handed to AWS SDKs have at least 20 minutes left (botocore refreshes those expiring
 * within 15 minutes on every call), so the cache never serves one with less.
 */
export const AWS_MIN_REMAINING_MS = 20 * 60_000;
/** The web identity JWT only has to live through the STS call (and its retries). */
const WEB_IDENTITY_JWT_TTL = 300;

export type AwsCredentialsOption = NonNullable<STSClientConfig["credentials"]>;

export interface AwsMinterOptions {
  region: string;
  /** STS endpoint override (tests, VPC endpoints). */
  endpoint?: string;
  signer: TokenSigner;
  /** The broker's own identity for `assumeRole` mode; default: the SDK default credential chain. */
  credentials?: AwsCredentialsOption;
  clock?: Clock;
  /** Issued-credential cache; default a fresh in-memory one, `null` disables caching. */
  cache?: CredentialCache | null;
  retry?: Partial<RetryPolicy>;
}

/** One STS call, validated. */
interface StsCall {
  mode: RenderedAws["mode"];
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  tags: Tag[];
  transitiveTagKeys: string[];
  sourceIdentity: string | undefined;
  policy: string | undefined;
}

export function createAwsMinter(options: AwsMinterOptions): Minter {
  const clock = options.clock ?? systemClock;
  const cache =
    options.cache === undefined
      ? createCredentialCache({ minRemainingMs: AWS_MIN_REMAINING_MS })
      : options.cache;
  const config: STSClientConfig = {
    region: options.region,
    // Retries are ours (util/retry.ts), bounded by the request deadline.
    maxAttempts: 1,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const sts = new STSClient(config);

  return {
    kind: "aws",
    async mint(grant, ctx) {
      if (grant.target.kind !== "aws") throw new TypeError(`aws minter got a ${grant.target.kind} grant`);
      const call = prepareStsCall(grant, grant.target.aws);
      const key = credentialCacheKey({
        target: "aws",
        region: options.region,
        policy: grant.policy,
        subject: grant.subject,
        call,
      });
      const rds = grant.target.aws.rdsAuthToken;
      const cached = cache?.get(key, clock());
      if (cached) return rds ? rdsToken(rds, cached, options.region, clock()) : cached;

      const webIdentityToken =
        call.mode === "webIdentity"
          ? await signWebIdentityToken(options.signer, grant, call, ctx.now, ctx.signal)
          : "";
      const credentials = await callUpstream("aws", ctx.signal, options.retry, () =>
        assume(sts, call, webIdentityToken, ctx.signal),
      );

      const now = clock();
      const { token, expiresAt } = toIssuedToken(credentials, now);
      cache?.set(key, token, expiresAt, now);
      return rds ? rdsToken(rds, token, options.region, now) : token;
    },
  };
}

/** One STS call. Web identity: tags and source identity ride in the JWT; AssumeRole: they are parameters. */
async function assume(
  sts: STSClient,
  call: StsCall,
  webIdentityToken: string,
  abortSignal: AbortSignal,
): Promise<Credentials | undefined> {
  const input = {
    RoleArn: call.roleArn,
    RoleSessionName: call.sessionName,
    DurationSeconds: call.durationSeconds,
    ...(call.policy === undefined ? {} : { Policy: call.policy }),
  };
  if (call.mode === "webIdentity") {
    const command = new AssumeRoleWithWebIdentityCommand({ ...input, WebIdentityToken: webIdentityToken });
    return (await sts.send(command, { abortSignal })).Credentials;
  }
  const command = new AssumeRoleCommand({
    ...input,
    ...(call.tags.length ? { Tags: call.tags } : {}),
    ...(call.transitiveTagKeys.length ? { TransitiveTagKeys: call.transitiveTagKeys } : {}),
    ...(call.sourceIdentity === undefined ? {} : { SourceIdentity: call.sourceIdentity }),
  });
  return (await sts.send(command, { abortSignal })).Credentials;
}

function signWebIdentityToken(
  signer: TokenSigner,
  grant: Grant,
  call: StsCall,
  nowMs: number,
  signal: AbortSignal,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = {
    iss: signer.issuer,
    sub: grant.subject,
    aud: STS_AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + WEB_IDENTITY_JWT_TTL,
    jti: randomUUID(),
    client_id: grant.policy,
  };
  if (call.tags.length) {
    claims[AWS_TAGS_CLAIM] = {
      principal_tags: Object.fromEntries(call.tags.map((t) => [t.Key, [t.Value]])),
      ...(call.transitiveTagKeys.length ? { transitive_tag_keys: call.transitiveTagKeys } : {}),
    };
  }
  if (call.sourceIdentity !== undefined) claims[AWS_SOURCE_IDENTITY_CLAIM] = call.sourceIdentity;
  return signer.sign(claims, "JWT", { signal });
}

function toIssuedToken(c: Credentials | undefined, now: number): { token: IssuedToken; expiresAt: number } {
  const expiration = c?.Expiration;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(expiration instanceof Date)) {
    throw new BrokerError("server_error", { reason: "upstream.aws.error", detail: "incomplete Credentials" });
  }
  // The AWS CLI/SDK `credential_process` output format (Version 1).
  const document = {
    Version: 1,
    AccessKeyId: c.AccessKeyId,
    SecretAccessKey: c.SecretAccessKey,
    SessionToken: c.SessionToken,
    Expiration: expiration.toISOString(),
  };
  const expiresAt = expiration.getTime();
  return {
    token: {
      accessToken: JSON.stringify(document),
      issuedTokenType: TOKEN_TYPE.awsCredentials,
      tokenType: "N_A",
      expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)),
      jti: c.AccessKeyId,
    },
    expiresAt,
  };
}

/** STS DurationSeconds: the grant's lifetime (or the target's shorter `duration`) within [900, 43200]. */
export function stsDurationSeconds(ttl: number, configured?: number): number {
  const wanted = Math.floor(Math.min(configured ?? ttl, ttl));
  return Math.min(Math.max(wanted, STS_MIN_DURATION), STS_MAX_DURATION);
}

/** STS RoleSessionName / SourceIdentity: 2–64 characters of [\w+=,.@-]. */
const STS_NAME = /^[\w+=,.@-]{2,64}$/;

/** `<policy>.<subject>` with every character STS refuses replaced, shortened with a hash suffix past 64. */
export function defaultSessionName(policy: string, subject: string): string {
  const raw = `${policy}.${subject}`;
  const safe = raw.replace(/[^\w+=,.@-]/g, "_");
  if (safe.length <= 64) return safe.padEnd(2, "_");
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${safe.slice(0, 55)}.${hash}`;
}

const invalid = (reason: Reason, detail: string) => new BrokerError("invalid_target", { reason, detail });

/** Session tag keys and values: Unicode letters, digits, white space and _ . : / = + - @ (IAM character limits). */
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
const MAX_SESSION_TAGS = 50;
/** STS: plaintext of an inline session policy at most 2,048 characters of [\t\n\r\u0020-\u00FF]. */
const SESSION_POLICY = /^[\t\n\r\u0020-\u00FF]{1,2048}$/;

/**
 * Checks everything STS would refuse before calling it, so a bad rendered template is an `invalid_target` with a
 * reason naming the rule, not an STS round trip. Details name the rule, never the offending value.
 */
export function prepareStsCall(grant: Grant, aws: RenderedAws): StsCall {
  const sessionName = aws.sessionName ?? defaultSessionName(grant.policy, grant.subject);
  if (!STS_NAME.test(sessionName)) {
    throw invalid(
      "aws.session_name_invalid",
      "RoleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-]",
    );
  }

  const entries = Object.entries(aws.sessionTags);
  if (entries.length > MAX_SESSION_TAGS) {
    throw invalid("aws.session_tags_invalid", `at most ${MAX_SESSION_TAGS} session tags`);
  }
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    if (!TAG_KEY.test(key)) {
      throw invalid(
        "aws.session_tags_invalid",
        "a session tag key must be 1-128 letters, digits, spaces or _.:/=+-@",
      );
    }
    if (!TAG_VALUE.test(value)) {
      throw invalid(
        "aws.session_tags_invalid",
        "a session tag value must be 0-256 letters, digits, spaces or _.:/=+-@",
      );
    }
    // IAM: the aws: prefix is reserved; tag keys are case-insensitive, so Team and team collide.
    if (key.toLowerCase().startsWith("aws:")) {
      throw invalid("aws.session_tags_invalid", "session tag keys may not start with aws:");
    }
    if (seen.has(key.toLowerCase())) {
      throw invalid("aws.session_tags_invalid", "session tag keys must be unique ignoring case");
    }
    seen.add(key.toLowerCase());
  }
  const transitiveTagKeys = aws.transitiveTagKeys ?? [];
  // STS: every transitive tag key must be the key of a session tag passed in the same call.
  if (transitiveTagKeys.some((k) => !seen.has(k.toLowerCase()))) {
    throw invalid("aws.session_tags_invalid", "every transitive tag key must name a session tag");
  }

  const sourceIdentity = aws.sourceIdentity;
  if (sourceIdentity !== undefined) {
    // STS: 2-64 characters of [\w+=,.@-]; a value beginning with aws: is refused.
    if (!STS_NAME.test(sourceIdentity) || sourceIdentity.toLowerCase().startsWith("aws:")) {
      throw invalid(
        "aws.source_identity_invalid",
        "SourceIdentity must be 2-64 characters of [A-Za-z0-9_+=,.@-], not starting with aws:",
      );
    }
  }

  const policy = aws.sessionPolicy;
  if (policy !== undefined && (!SESSION_POLICY.test(policy) || !isJsonObject(policy))) {
    throw invalid(
      "aws.session_policy_invalid",
      "the session policy must be a JSON document of at most 2048 characters",
    );
  }

  return {
    mode: aws.mode,
    roleArn: aws.roleArn,
    sessionName,
    durationSeconds: stsDurationSeconds(grant.ttl, aws.duration),
    tags: entries.map(([Key, Value]) => ({ Key, Value })),
    transitiveTagKeys,
    sourceIdentity,
    policy,
  };
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
