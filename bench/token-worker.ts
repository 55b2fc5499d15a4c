/**
 * Signs `count` fresh RS256 tokens (each with its own jti) and returns them as /token form bodies, one per line:
 * GitHub-shaped subject tokens for the broker and the floor, or RFC 7523 client assertions for oidc-provider.
 */
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

export interface TokenJob {
  kind: "subject" | "assertion";
  count: number;
  privateJwk: Record<string, string>;
  kid: string;
  /** The subject token's iss (the demo issuer), or the assertion's aud (oidc-provider's issuer). */
  issuer: string;
  claims: Record<string, unknown>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function bodies(job: TokenJob): string {
  const key = createPrivateKey({ key: job.privateJwk, format: "jwk" });
  const header = b64({ alg: "RS256", typ: "JWT", kid: job.kid });
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < job.count; i++) {
    const payload =
      job.kind === "subject"
        ? { iss: job.issuer, iat: now, nbf: now, exp: now + 3600, jti: randomUUID(), ...job.claims }
        : {
            iss: "bench-client",
            sub: "bench-client",
            aud: job.issuer,
            iat: now,
            exp: now + 3600,
            jti: randomUUID(),
          };
    const input = `${header}.${b64(payload)}`;
    const token = `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
    const form =
      job.kind === "subject"
        ? {
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
            subject_token: token,
            audience: "https://deploy.acme.internal",
          }
        : {
            grant_type: "client_credentials",
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: token,
            scope: "deploy:read",
          };
    lines.push(new URLSearchParams(form).toString());
  }
  return lines.join("\n");
}

parentPort?.postMessage(bodies(workerData as TokenJob));
