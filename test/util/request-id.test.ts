import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newRequestId } from "../../src/util/request-id.ts";

const ENCODING = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const decodeTime = (id: string) => [...id.slice(0, 10)].reduce((n, c) => n * 32 + ENCODING.indexOf(c), 0);

describe("request ids (ULID)", () => {
  it("are 26 Crockford base32 characters whose first 10 encode the millisecond time", () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const id = newRequestId(now);
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(decodeTime(id), now);
    assert.ok(id.startsWith("01"), "2026 ids start with 01");
  });

  it("sort by time and do not repeat", () => {
    const ids = Array.from({ length: 20_000 }, (_, i) =>
      newRequestId(1_795_000_000_000 + Math.floor(i / 10)),
    );
    assert.equal(new Set(ids).size, ids.length);
    const sorted = [...ids].sort();
    assert.deepEqual(sorted.map(decodeTime), ids.map(decodeTime));
  });

  it("spread the random part over the whole alphabet", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const c of newRequestId().slice(10)) seen.add(c);
    assert.equal(seen.size, 32);
  });
});
