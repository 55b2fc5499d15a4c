/**
 * The peer a user would pick instead: oidc-provider (panva) issuing JWT access tokens for client_credentials with
 * private_key_jwt client authentication (RFC 7523 §2.2) — an RS256 assertion in, an ES256 JWT out, like the broker.
 * Its default in-memory adapter remembers assertion jtis (replay protection), as the broker's store does.
 */
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const [clientJwkJson, port] = process.argv.slice(2);
const clientJwk = JSON.parse(clientJwkJson ?? "{}");
const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
/** Client assertions name this issuer as their audience (the listening port is chosen by the OS). */
const issuer = process.argv[4] ?? "http://op.bench.internal";
const BENCH_CLIENT_ID = "bench-client";

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: BENCH_CLIENT_ID,
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "RS256",
      id_token_signed_response_alg: "ES256",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      jwks: { keys: [{ ...clientJwk, alg: "RS256", use: "sig" }] },
    },
  ],
  jwks: { keys: [{ ...signing, kid: "op", alg: "ES256", use: "sig" }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "https://deploy.acme.internal",
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "deploy:read deploy:write",
        audience: "https://deploy.acme.internal",
        accessTokenTTL: 900,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
});
const server = provider.listen(Number(port ?? 0), "127.0.0.1", () => {
  process.stderr.write(`ready ${(server.address() as { port: number }).port}\n`);
});
