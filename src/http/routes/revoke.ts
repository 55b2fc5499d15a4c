import { sha256Hex } from "../../util/hash.ts";
import type { AppDeps } from "../deps.ts";
import { readTokenForm } from "../lifecycle-form.ts";
import { lifecycleRoute } from "../lifecycle-route.ts";
import { respond } from "../respond.ts";

/**
 * POST /revoke (RFC 7009, CONTRACT §10). No client authentication: presenting the token is the proof. The
 * revokers are asked in order until one recognises the token; an unknown token is still a 200 (RFC 7009 §2.2),
 * so the endpoint tells nobody which strings are live credentials.
 */
export function revokeRoute(deps: AppDeps) {
  return lifecycleRoute(deps, "/revoke", "revoke.unknown_token", async (c, outcome) => {
    const { token, hint } = await readTokenForm(c);
    outcome.tokenSha256 = sha256Hex(token);
    for (const revoker of deps.revokers) {
      if ((await revoker.revoke(token, hint)) === "revoked") {
        outcome.revoker = revoker.kind;
        outcome.reason = "revoke.revoked";
        break;
      }
    }
    // RFC 7009 §2.2: 200 whether the token was revoked or unknown; the client ignores the body.
    return respond(c, null, 200);
  });
}
