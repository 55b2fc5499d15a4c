import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { type Deadline, JwsWriter } from "../../src/signing/jws.ts";
import { keyObjectSigner } from "../../src/signing/key-object.ts";
import type { Signer } from "../../src/signing/signer.ts";

/** A deadline that counts how often its signal is read (the route creates its timer on the first read). */
function countingDeadline() {
  const signal = new AbortController().signal;
  const deadline = {
    reads: 0,
    get signal() {
      deadline.reads++;
      return signal;
    },
  };
  return { deadline: deadline as Deadline & { reads: number }, signal };
}

describe("the request deadline reaches a signer only when it waits on a KMS", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });

  it("a key in memory signs without reading the deadline (no timer per request)", async () => {
    for (const backend of ["file", "memory"] as const) {
      const { deadline } = countingDeadline();
      const writer = new JwsWriter(keyObjectSigner(privateKey, "ES256", backend, "k"), "ES256", "kid");
      const jws = await writer.sign({ sub: "s" }, "at+jwt", deadline);
      assert.equal(jws.split(".").length, 3);
      assert.equal(deadline.reads, 0, backend);
    }
  });

  it("a KMS signer gets the request's own signal", async () => {
    const { deadline, signal } = countingDeadline();
    const seen: AbortSignal[] = [];
    const local = keyObjectSigner(privateKey, "ES256", "memory", "k");
    const kms: Signer = {
      ...local,
      backend: "aws-kms",
      sign: (input, s) => {
        seen.push(s);
        return local.sign(input, s);
      },
    };
    await new JwsWriter(kms, "ES256", "kid").sign({ sub: "s" }, "at+jwt", deadline);
    assert.equal(deadline.reads, 1);
    assert.deepEqual(seen, [signal]);
  });
});
