import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
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
 * A loopback fake of AWS KMS's asymmetric signing API, AWS JSON 1.1 protocol: `POST /` with
 * `X-Amz-Target: TrentService.<Operation>` and `Content-Type: application/x-amz-json-1.1`, blobs base64, errors
 * `{"__type": "<Code>", "message": …}` (https://docs.aws.amazon.com/kms/latest/APIReference/):
 *   GetPublicKey {KeyId} → {KeyId, PublicKey (DER SPKI), KeySpec, KeyUsage, SigningAlgorithms}
 *   Sign {KeyId, Message, MessageType: RAW|DIGEST, SigningAlgorithm} → {KeyId, Signature, SigningAlgorithm}
 * It checks that calls are SigV4-signed (not the signature itself).
 */

export type AwsKeySpec = "ECC_NIST_P256" | "RSA_2048";

interface FakeKey {
  arn: string;
  keySpec: AwsKeySpec;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface AwsKmsCall {
  operation: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

export interface AwsKmsFailure {
  /** 0: never answer. */
  status: number;
  code: string;
}

export const AWS_KMS_FAILURES = {
  internal: { status: 500, code: "KMSInternalException" },
  throttled: { status: 400, code: "ThrottlingException" },
  disabled: { status: 400, code: "DisabledException" },
  hang: { status: 0, code: "" },
} satisfies Record<string, AwsKmsFailure>;

export interface FakeAwsKms extends RecordingFake<AwsKmsCall, string, AwsKmsFailure> {
  endpoint: string;
  /** Creates a key; returns its ARN. */
  createKey(keySpec: AwsKeySpec): string;
  publicKeyOf(arn: string): KeyObject;
  /** While down, every call is refused at the socket (as if KMS were unreachable). */
  down: boolean;
  /** Added to every answer, ms. */
  latencyMs: number;
  signCount(): number;
}

const SIGNING: Record<AwsKeySpec, Record<string, DigestAlgorithm>> = {
  ECC_NIST_P256: { ECDSA_SHA_256: "ES256" },
  RSA_2048: { RSASSA_PKCS1_V1_5_SHA_256: "RS256", RSASSA_PSS_SHA_256: "PS256" },
};

export async function startFakeAwsKms(
  options: { region?: string; latencyMs?: number } = {},
): Promise<FakeAwsKms> {
  const region = options.region ?? "eu-west-1";
  const { failures, ...log } = fakeLog<AwsKmsCall, string, AwsKmsFailure>();
  const keys = new Map<string, FakeKey>();
  let signs = 0;
  const find = (keyId: unknown): FakeKey | undefined =>
    typeof keyId === "string"
      ? (keys.get(keyId) ?? [...keys.values()].find((k) => k.arn.endsWith(`/${keyId}`)))
      : undefined;

  const state = { down: false, latencyMs: options.latencyMs ?? 0 };
  const server: Server = createServer(
    withBody(async (req, res, text) => {
      if (state.down) return void req.socket.destroy();
      await pause(state.latencyMs);
      const json = jsonResponder(res, "application/x-amz-json-1.1");
      const error = (status: number, code: string, message: string) =>
        json(status, { __type: code, message });
      const target = req.headers["x-amz-target"];
      const operation =
        typeof target === "string" && target.startsWith("TrentService.") ? target.slice(13) : "";
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text || "{}") as Record<string, unknown>;
      } catch {
        return error(400, "SerializationException", "bad json");
      }
      log.requests.push({ operation, body, authorization: req.headers.authorization });
      if (req.method !== "POST" || req.headers["content-type"] !== "application/x-amz-json-1.1") {
        return error(400, "UnknownOperationException", "not JSON 1.1");
      }
      const failure = failures.shift();
      if (failure?.status === 0) return;
      if (failure) return error(failure.status, failure.code, "injected failure SECRET-UPSTREAM-DETAIL");
      if (!req.headers.authorization?.startsWith("AWS4-HMAC-SHA256 Credential=")) {
        return error(400, "MissingAuthenticationTokenException", "request is not signed");
      }
      const key = find(body.KeyId);
      if (!key) return error(400, "NotFoundException", "Key does not exist");
      switch (operation) {
        case "GetPublicKey":
          return json(200, {
            KeyId: key.arn,
            PublicKey: key.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
            KeySpec: key.keySpec,
            KeyUsage: "SIGN_VERIFY",
            SigningAlgorithms: Object.keys(SIGNING[key.keySpec]),
          });
        case "Sign": {
          const algorithm = SIGNING[key.keySpec][String(body.SigningAlgorithm)];
          if (!algorithm) return error(400, "InvalidKeyUsageException", "algorithm not supported by the key");
          const message = Buffer.from(String(body.Message ?? ""), "base64");
          const digest =
            body.MessageType === "DIGEST" ? message : createHash("sha256").update(message).digest();
          if (digest.length !== 32) return error(400, "ValidationException", "digest length");
          signs++;
          const signature = signDigest(algorithm, key.privateKey, digest);
          log.issued.push(signature.toString("base64"));
          return json(200, {
            KeyId: key.arn,
            Signature: signature.toString("base64"),
            SigningAlgorithm: body.SigningAlgorithm,
          });
        }
        default:
          return error(400, "UnknownOperationException", `no operation ${operation}`);
      }
    }),
  );
  const port = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
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
    signCount: () => signs,
    createKey(keySpec) {
      const pair =
        keySpec === "ECC_NIST_P256"
          ? generateKeyPairSync("ec", { namedCurve: "P-256" })
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
      const arn = `arn:aws:kms:${region}:111122223333:key/${randomUUID()}`;
      keys.set(arn, { arn, keySpec, ...pair });
      return arn;
    },
    publicKeyOf: (arn) => {
      const k = keys.get(arn);
      if (!k) throw new Error(`no key ${arn}`);
      return k.publicKey;
    },
    close: () => closeServer(server),
  };
}
