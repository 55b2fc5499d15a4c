import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.ts";

/** `signing.kms` config rules (CONTRACT §12): one active entry, statuses explicit for the rest, never with keysDir. */

const aws = { aws: { keyId: "arn:aws:kms:eu-west-1:111122223333:key/k", region: "eu-west-1" } };
const gcp = { gcp: { keyVersion: "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1" } };
const load = (signing: unknown) => parseConfig({ signing }, "wif-broker.yaml", "/");

describe("signing.kms config", () => {
  it("accepts an active entry with next and retired ones; defaults direct mode and a 2 s KMS timeout", () => {
    const config = load({ kms: [aws, { ...gcp, status: "next" }, { ...aws, status: "retired" }] });
    assert.equal(config.signing.kms?.[0]?.mode, "direct");
    assert.equal(config.signing.kms?.[0]?.timeout, 2);
  });

  for (const [name, signing, message] of [
    ["keysDir and kms", { keysDir: "./keys", kms: [aws] }, /keysDir or kms/],
    ["two entries without status", { kms: [aws, gcp] }, /only the active entry may omit status/],
    [
      "two active entries",
      {
        kms: [
          { ...aws, status: "active" },
          { ...gcp, status: "active" },
        ],
      },
      /at most one/,
    ],
    ["no active entry", { kms: [{ ...aws, status: "next" }] }, /must be active/],
    ["both aws and gcp in one entry", { kms: [{ ...aws, ...gcp }] }, /exactly one of aws, gcp/],
    ["a malformed key version", { kms: [{ gcp: { keyVersion: "projects/p/keys/k" } }] }, /cryptoKeyVersions/],
    ["an unknown member", { kms: [{ ...aws, region: "x" }] }, /region|Unrecognized/],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.throws(() => load(signing), message);
    });
  }
});
