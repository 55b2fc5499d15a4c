import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { scramSha256Verifier } from "../../../src/mint/database/scram.ts";

/**
 * The machine's PostgreSQL admits loopback logins by trust, so a live login cannot prove that the verifier the broker
 * stores authenticates the password. This test plays the server's side of SCRAM-SHA-256 (RFC 5802 §3, §5) with the
 * stored verifier, against the pg driver's own client implementation: the driver must prove the password, and accept
 * the server signature computed from the verifier's ServerKey.
 */
const sasl = createRequire(import.meta.url)("pg/lib/crypto/sasl.js") as {
  startSession(mechanisms: string[]): { clientNonce: string; response: string };
  continueSession(session: object, password: string, serverData: string): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

function parseVerifier(v: string) {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(v);
  assert.ok(m, "PostgreSQL's stored SCRAM form");
  return {
    iterations: Number(m[1]),
    salt: m[2] as string,
    storedKey: Buffer.from(m[3] as string, "base64"),
    serverKey: Buffer.from(m[4] as string, "base64"),
  };
}

/** Runs one SCRAM exchange as the server holding `verifier`; true when the client proved the password. */
async function serverAccepts(verifier: string, password: string): Promise<boolean> {
  const v = parseVerifier(verifier);
  const session = sasl.startSession(["SCRAM-SHA-256"]);
  const clientFirstBare = session.response.slice(3);
  const nonce = session.clientNonce + randomBytes(18).toString("base64");
  const serverFirst = `r=${nonce},s=${v.salt},i=${v.iterations}`;
  await sasl.continueSession(session, password, serverFirst);
  const clientFinal = (session as { response: string }).response;
  const [withoutProof, proofPart] = clientFinal.split(",p=") as [string, string];
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac("sha256", v.storedKey).update(authMessage).digest();
  const proof = Buffer.from(proofPart, "base64");
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] as number)));
  const ok = timingSafeEqual(createHash("sha256").update(clientKey).digest(), v.storedKey);
  if (ok) {
    const serverSignature = createHmac("sha256", v.serverKey).update(authMessage).digest("base64");
    sasl.finalizeSession(session, `v=${serverSignature}`);
  }
  return ok;
}

describe("SCRAM-SHA-256 verifier (what CREATE ROLE … PASSWORD receives)", () => {
  it("authenticates the password with the pg driver's SCRAM client, and refuses another", async () => {
    const password = randomBytes(32).toString("base64url");
    const verifier = scramSha256Verifier(password);
    assert.equal(await serverAccepts(verifier, password), true);
    assert.equal(await serverAccepts(verifier, `${password}x`), false);
  });

  it("never contains the password and salts every verifier freshly", () => {
    const password = randomBytes(32).toString("base64url");
    const a = scramSha256Verifier(password);
    const b = scramSha256Verifier(password);
    assert.ok(!a.includes(password));
    assert.notEqual(a, b);
    assert.equal(parseVerifier(a).iterations, 4096);
  });
});
