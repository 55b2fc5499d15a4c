import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import { type DigestAlgorithm, pause, signDigest } from "./digest-signing.ts";
import {
  closeServer,
  fakeLog,
  jsonResponder,
  listenOnLoopback,
  type RecordingFake,
  withBody,
} from "./loopback.ts";

/**
 * A loopback fake of Google Cloud KMS's REST API for asymmetric signing (https://cloud.google.com/kms/docs/reference/rest):
 *   GET  /v1/{name=projects/…/cryptoKeyVersions/*}/publicKey          → {pem, algorithm, pemCrc32c, name, protectionLevel}
 *   POST /v1/{name=projects/…/cryptoKeyVersions/*}:asymmetricSign     {digest: {sha256: base64}} → {signature, name, …}
 * Enums answer as numbers when the client asks `$alt=json;enum-encoding=int` (as google-gax's REST transport does),
 * else as names; errors in Google's JSON error format. Calls must carry a Bearer token.
 */

export type CloudKmsAlgorithm =
  | "EC_SIGN_P256_SHA256"
  | "RSA_SIGN_PKCS1_2048_SHA256"
  | "RSA_SIGN_PSS_2048_SHA256";

const ALGORITHMS: Record<CloudKmsAlgorithm, { number: number; jose: DigestAlgorithm }> = {
  EC_SIGN_P256_SHA256: { number: 12, jose: "ES256" },
  RSA_SIGN_PKCS1_2048_SHA256: { number: 5, jose: "RS256" },
  RSA_SIGN_PSS_2048_SHA256: { number: 2, jose: "PS256" },
};

export interface CloudKmsCall {
  method: "publicKey" | "asymmetricSign" | string;
  name: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

export interface FakeCloudKms
  extends RecordingFake<CloudKmsCall, string, { status: number; statusName: string }> {
  host: string;
  port: number;
  createKeyVersion(algorithm: CloudKmsAlgorithm): string;
  publicKeyOf(name: string): KeyObject;
  down: boolean;
  latencyMs: number;
}

const PATH =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[^/:]+)(\/publicKey|:asymmetricSign)$/;

export async function startFakeCloudKms(options: { latencyMs?: number } = {}): Promise<FakeCloudKms> {
  const { failures, ...log } = fakeLog<CloudKmsCall, string, { status: number; statusName: string }>();
  const versions = new Map<
    string,
    { algorithm: CloudKmsAlgorithm; privateKey: KeyObject; publicKey: KeyObject }
  >();
  const state = { down: false, latencyMs: options.latencyMs ?? 0 };
  let created = 0;

  const server: Server = createServer(
    withBody(async (req, res, text) => {
      if (state.down) return void req.socket.destroy();
      await pause(state.latencyMs);
      const json = jsonResponder(res, "application/json; charset=UTF-8");
      const googleError = (status: number, statusName: string, message: string) =>
        json(status, { error: { code: status, message, status: statusName } });
      const url = new URL(req.url ?? "/", "http://x");
      const intEnums = (url.searchParams.get("$alt") ?? "").includes("enum-encoding=int");
      const m = PATH.exec(decodeURIComponent(url.pathname));
      if (!m) return googleError(404, "NOT_FOUND", "no such method");
      const [, name = "", suffix = ""] = m;
      const method = suffix === "/publicKey" ? "publicKey" : "asymmetricSign";
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text || "{}") as Record<string, unknown>;
      } catch {
        return googleError(400, "INVALID_ARGUMENT", "bad json");
      }
      log.requests.push({ method, name, body, authorization: req.headers.authorization });
      const failure = failures.shift();
      if (failure?.status === 0) return;
      if (failure) return googleError(failure.status, failure.statusName, "injected SECRET-UPSTREAM-DETAIL");
      if (!req.headers.authorization?.startsWith("Bearer ")) {
        return googleError(401, "UNAUTHENTICATED", "no credentials");
      }
      const version = versions.get(name);
      if (!version) return googleError(404, "NOT_FOUND", `${name} not found`);
      const algorithm = intEnums ? ALGORITHMS[version.algorithm].number : version.algorithm;
      const protectionLevel = intEnums ? 2 : "HSM";
      if (method === "publicKey") {
        if (req.method !== "GET") return googleError(404, "NOT_FOUND", "use GET");
        const pem = version.publicKey.export({ format: "pem", type: "spki" }).toString();
        return json(200, { pem, algorithm, name, protectionLevel });
      }
      if (req.method !== "POST") return googleError(404, "NOT_FOUND", "use POST");
      const digest = Buffer.from(
        String((body.digest as { sha256?: unknown } | undefined)?.sha256 ?? ""),
        "base64",
      );
      if (digest.length !== 32) return googleError(400, "INVALID_ARGUMENT", "digest.sha256 must be 32 bytes");
      const signature = signDigest(ALGORITHMS[version.algorithm].jose, version.privateKey, digest).toString(
        "base64",
      );
      log.issued.push(signature);
      return json(200, { signature, name, verifiedDigestCrc32c: false, protectionLevel });
    }),
  );
  const port = await listenOnLoopback(server);
  return {
    host: "127.0.0.1",
    port,
    ...log,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
      if (v) server.closeAllConnections();
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(v: number) {
      state.latencyMs = v;
    },
    createKeyVersion(algorithm) {
      const pair = algorithm.startsWith("EC_")
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
      const name = `projects/acme-prod/locations/europe-west1/keyRings/wif/cryptoKeys/broker/cryptoKeyVersions/${++created}`;
      versions.set(name, { algorithm, ...pair });
      return name;
    },
    publicKeyOf(name) {
      const v = versions.get(name);
      if (!v) throw new Error(`no key version ${name}`);
      return v.publicKey;
    },
    close: () => closeServer(server),
  };
}
