import type { Grant } from "../policy/types.ts";
import type { TransactionInputs } from "./types.ts";

/**
 * The claims of a Transaction Token (draft-ietf-oauth-transaction-tokens-10 §9.2). The broker is the Txn-Token
 * Service: it is authoritative for `rctx` and `tctx` (§11.3), so what it asserts itself (the source address it saw,
 * the policy's templated claims) is written last and cannot be overridden by the requester's JSON.
 */
export function txnTokenClaims(
  grant: Grant,
  issuer: string,
  iat: number,
  txn: string,
  inputs: TransactionInputs | undefined,
): Record<string, unknown> {
  // §9.2.2 Request Context: the environment of the request — the requester's request_context and the source IP.
  const rctx: Record<string, unknown> = { ...inputs?.requestContext };
  delete rctx.req_ip;
  if (inputs?.sourceIp) rctx.req_ip = inputs.sourceIp;
  // §9.2.3 Transaction Context: request_details plus what the policy asserts.
  const tctx: Record<string, unknown> = { ...inputs?.requestDetails, ...grant.claims };
  return {
    // §9.2: iss is optional; the broker names itself so resource servers find its keys (§13.16).
    iss: issuer,
    iat,
    // §9.2: aud is the Trust Domain — the target's audience.
    aud: grant.target.audience,
    exp: iat + grant.ttl,
    // §9.2: txn, unique per transaction (RFC 8417 §2.2). It doubles as jti, the handle for revocation.
    txn,
    jti: txn,
    sub: grant.subject,
    // §9.2 / §13.6: REQUIRED, and never wider than the target's or the subject token's (checked in the decision).
    scope: grant.scopes.join(" "),
    // §9.2: the requesting workload — the admitting policy.
    req_wl: grant.policy,
    rctx,
    tctx,
    ...(grant.act === undefined ? {} : { act: grant.act }),
  };
}
