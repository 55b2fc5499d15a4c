import { BrokerError } from "../errors.ts";
import type { GithubApi } from "../mint/github/api.ts";
import { revokeInstallationToken } from "../mint/github.ts";
import { callUpstream } from "../upstream/call.ts";
import type { RetryPolicy } from "../util/retry.ts";
import type { Revoker } from "./types.ts";

/** GitHub installation tokens: `ghs_` and base62 (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/). */
const INSTALLATION_TOKEN = /^ghs_[A-Za-z0-9]{20,251}$/;
const REVOKE_DEADLINE_MS = 5_000;

/**
 * CONTRACT §10: a `ghs_` token presented to /revoke is deleted at GitHub (`DELETE /installation/token`, authenticated
 * by the token itself). A token GitHub no longer accepts (expired, already revoked) is done; GitHub down → 503.
 */
export function githubRevoker(api: GithubApi, retry?: Partial<RetryPolicy>): Revoker {
  return {
    kind: "github",
    async revoke(token) {
      if (!INSTALLATION_TOKEN.test(token)) return "not-mine";
      const signal = AbortSignal.timeout(REVOKE_DEADLINE_MS);
      try {
        await callUpstream("github", signal, retry, () => revokeInstallationToken(api, token, signal));
        return "revoked";
      } catch (e) {
        if (e instanceof BrokerError && e.kind === "unavailable") throw e;
        // 401: GitHub does not know the token (any more): nothing left to revoke (RFC 7009 §2.2 answers 200).
        return "not-mine";
      }
    },
  };
}
