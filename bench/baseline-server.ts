/**
 * The framework-free baseline: node:http doing only the unavoidable work of an exchange — read the form, verify
 * the RS256 signature with a cached KeyObject, check iss/aud/exp and one claim, sign an ES256 JWT, answer JSON.
 * No policy engine, no audit, no metrics: the floor the broker is measured against.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { createServer } from "node:http";

const [issuer, jwkJson, port] = process.argv.slice(2);
const publicJwk = JSON.parse(jwkJson ?? "{}");
const keys = new Map([[publicJwk.kid as string, createPublicKey({ key: publicJwk, format: "jwk" })]]);
const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const header = Buffer.from(JSON.stringify({ alg: "ES256", kid: "baseline", typ: "at+jwt" })).toString(
  "base64url",
);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    const token = form.get("subject_token") ?? "";
    const [h, p, s] = token.split(".");
    const head = JSON.parse(Buffer.from(h ?? "", "base64url").toString());
    const claims = JSON.parse(Buffer.from(p ?? "", "base64url").toString());
    const key = keys.get(head.kid);
    const ok =
      key !== undefined &&
      verify("sha256", Buffer.from(`${h}.${p}`), key, Buffer.from(s ?? "", "base64url")) &&
      claims.iss === issuer &&
      claims.aud === "https://broker.example.com" &&
      claims.exp > Date.now() / 1000 &&
      claims.repository_owner_id === "65";
    if (!ok) {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid_request"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(
      JSON.stringify({
        iss: "https://broker.example.com",
        sub: claims.sub,
        aud: form.get("audience"),
        iat: now,
        exp: now + 900,
        jti: randomBytes(16).toString("base64url"),
      }),
    ).toString("base64url");
    const input = `${header}.${body}`;
    const sig = sign("sha256", Buffer.from(input), { key: signingKey, dsaEncoding: "ieee-p1363" }).toString(
      "base64url",
    );
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(
      JSON.stringify({
        access_token: `${input}.${sig}`,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: 900,
      }),
    );
  });
});
server.listen(Number(port ?? 0), "127.0.0.1", () => {
  const { port: bound } = server.address() as { port: number };
  process.stderr.write(`ready ${bound}\n`);
});
process.once("SIGTERM", () => process.exit(0));
