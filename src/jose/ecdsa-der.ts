/**
 * JOSE carries ECDSA signatures as R || S, each the curve's size (RFC 7518 §3.4); KMS APIs answer in DER (AWS KMS
 * Sign, Cloud KMS asymmetricSign), which signing/kms-algorithms.ts converts here. Keys in memory never need it:
 * OpenSSL writes R || S itself (`dsaEncoding: "ieee-p1363"`, jose/jwa.ts). Lengths stay under 128 bytes for
 * P-256/P-384: short-form DER only.
 */
function derInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const pad = (value[0] ?? 0) & 0x80 ? 1 : 0;
  const out = Buffer.alloc(2 + pad + value.length);
  out[0] = 0x02;
  out[1] = pad + value.length;
  value.copy(out, 2 + pad);
  return out;
}

/** R || S (half each) → DER SEQUENCE { INTEGER r, INTEGER s }. */
export function rawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const r = derInteger(raw.subarray(0, half));
  const s = derInteger(raw.subarray(half));
  return Buffer.concat([Buffer.from([0x30, r.length + s.length]), r, s]);
}

/** DER SEQUENCE { INTEGER r, INTEGER s } → R || S, each left-padded to `size` bytes. */
export function derToRaw(der: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size * 2);
  let offset = 2; // SEQUENCE tag and (short) length
  for (let i = 0; i < 2; i++) {
    const length = der[offset + 1] ?? 0;
    let value = der.subarray(offset + 2, offset + 2 + length);
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    value.copy(out, i * size + (size - value.length));
    offset += 2 + length;
  }
  return out;
}
