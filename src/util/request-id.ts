import { randomFillSync } from "node:crypto";

/**
 * ULIDs (26 characters of Crockford base32: 48-bit millisecond time, then 80 random bits) for request ids, so they
 * sort by time (`01J…`). The random bits come from a pooled buffer: the `ulid` package asked the CSPRNG once per
 * character, which was 4 % of a whole /token request's CPU.
 */
const ENCODING = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_BYTES;

function fiveRandomBytesAsChars(): string {
  if (offset + 5 > pool.length) {
    pool = randomFillSync(Buffer.alloc(POOL_BYTES));
    offset = 0;
  }
  // 40 bits fit a double exactly: 8 characters of 5 bits.
  let value = 0;
  for (let i = 0; i < 5; i++) value = value * 256 + (pool[offset + i] ?? 0);
  offset += 5;
  let out = "";
  for (let i = 0; i < 8; i++) {
    out = ENCODING.charAt(value % 32) + out;
    value = Math.floor(value / 32);
  }
  return out;
}

export function newRequestId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ENCODING.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  return time + fiveRandomBytesAsChars() + fiveRandomBytesAsChars();
}
