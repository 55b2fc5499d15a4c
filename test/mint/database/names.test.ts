import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  leaseName,
  leasePassword,
  looksLikeLeasePassword,
  NAME_LIMIT,
  passwordHash,
} from "../../../src/mint/database/names.ts";

describe("lease names and passwords", () => {
  it("any policy name gives wif_<policy>_<12 random>, only [a-z0-9_], within each engine's limit", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.constantFrom("postgres", "mysql"),
        (p, e) => {
          const engine = e as keyof typeof NAME_LIMIT;
          const name = leaseName(p, engine);
          assert.match(name, /^wif_[a-z0-9_]*_[a-z0-9]{12}$/);
          assert.ok(Buffer.byteLength(name) <= NAME_LIMIT[engine]);
        },
      ),
    );
    assert.match(leaseName("ledger-ro", "postgres"), /^wif_ledger_ro_[a-z0-9]{12}$/);
    assert.ok(leaseName("a".repeat(63), "mysql").length <= 32);
  });

  it("passwords: 43 base64url characters (256 bits) from the CSPRNG, never repeated; stored only as SHA-256", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const p = leasePassword();
      assert.match(p, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(looksLikeLeasePassword(p));
      assert.ok(!seen.has(p));
      seen.add(p);
    }
    assert.equal(passwordHash("x"), "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  });

  it("tokens of other kinds are never mistaken for a lease password (they skip the databases)", () => {
    assert.equal(looksLikeLeasePassword("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), false);
    assert.equal(looksLikeLeasePassword(`ghs_${"a".repeat(36)}`), false);
    assert.equal(looksLikeLeasePassword(""), false);
  });
});
