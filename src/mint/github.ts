import { BrokerError } from "../errors.ts";
import type { Signer } from "../signing/signer.ts";
import { callUpstream } from "../upstream/call.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { RetryPolicy } from "../util/retry.ts";
import { GithubApi } from "./github/api.ts";
import { AppJwt } from "./github/app-jwt.ts";
import { InstallationDirectory } from "./github/installations.ts";
import { grantedWithin, permissionsFromScopes } from "./github/permissions.ts";
import { type IssuedToken, type Minter, TOKEN_TYPE } from "./types.ts";

/**
 * GitHub target (CONTRACT §11, octo-sts's job): an installation access token of the broker's GitHub App, limited to
 * the policy's repositories and permissions (narrowed by the request's `scope`). The App key signs the App JWT
 * through a Signer, so it may be a key file or a KMS key.
 */
export interface GithubMinterOptions {
  appId: string;
  signer: Signer;
  apiUrl: string;
  clock?: Clock;
  fetchImpl?: typeof fetch;
  retry?: Partial<RetryPolicy>;
}

interface AccessTokenResponse {
  token?: unknown;
  expires_at?: unknown;
  permissions?: unknown;
  repositories?: unknown;
}

export interface GithubMinter extends Minter {
  /** For the `/revoke` revoker: the same API base. */
  readonly api: GithubApi;
}

export function createGithubMinter(options: GithubMinterOptions): GithubMinter {
  const clock = options.clock ?? systemClock;
  const api = new GithubApi(options.apiUrl, clock, options.fetchImpl);
  const appJwt = new AppJwt(options.appId, options.signer, clock);
  const installations = new InstallationDirectory(api, appJwt, clock);
  const call = <T>(signal: AbortSignal, attempt: () => Promise<T>) =>
    callUpstream("github", signal, options.retry, attempt);

  const createToken = async (
    installation: number,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<AccessTokenResponse | undefined> =>
    (await call(signal, async () =>
      api.call(
        {
          method: "POST",
          path: `/app/installations/${installation}/access_tokens`,
          authorization: `Bearer ${await appJwt.get(signal)}`,
          body,
          signal,
        },
        true,
      ),
    )) as AccessTokenResponse | undefined;

  return {
    kind: "github",
    api,
    async mint(grant, ctx) {
      if (grant.target.kind !== "github")
        throw new TypeError(`github minter got a ${grant.target.kind} grant`);
      const { owner, repositories } = grant.target.github;
      const permissions = permissionsFromScopes(grant.scopes);
      const body = { ...(repositories === undefined ? {} : { repositories }), permissions };

      let installation = await call(ctx.signal, () => installations.find(owner, ctx.signal));
      let response =
        installation === undefined ? undefined : await createToken(installation, body, ctx.signal);
      if (installation !== undefined && response === undefined) {
        // 404: the App was uninstalled since the lookup was cached; look once more.
        installations.forget(owner);
        installation = await call(ctx.signal, () => installations.find(owner, ctx.signal));
        response = installation === undefined ? undefined : await createToken(installation, body, ctx.signal);
      }
      if (installation === undefined || response === undefined) {
        // CONTRACT §11: an owner where the App has no installation → invalid_target.
        throw new BrokerError("invalid_target", {
          reason: "github.no_installation",
          detail: "the GitHub App is not installed for this owner",
        });
      }

      const token = response.token;
      const expiresAt =
        typeof response.expires_at === "string" ? Date.parse(response.expires_at) : Number.NaN;
      if (typeof token !== "string" || token === "" || !Number.isFinite(expiresAt)) {
        throw new BrokerError("server_error", {
          reason: "upstream.github.error",
          detail: "incomplete token response",
        });
      }
      // Deny by default: a token wider than asked (a GitHub change, a proxy) is revoked, never handed out.
      if (!grantedWithin({ permissions, repositories }, response)) {
        await revokeQuietly(api, token);
        throw new BrokerError("server_error", {
          reason: "github.token_wider_than_asked",
          detail: "GitHub granted more than the policy allows",
        });
      }
      const scope = Object.entries(permissions)
        .map(([name, level]) => `${name}:${level}`)
        .sort()
        .join(" ");
      const issued: IssuedToken = {
        accessToken: token,
        issuedTokenType: TOKEN_TYPE.accessToken,
        tokenType: "Bearer",
        // CONTRACT §11: counts down to GitHub's expires_at (a policy ttl cannot shorten an installation token).
        expiresIn: Math.max(0, Math.floor((expiresAt - clock()) / 1000)),
        scope,
      };
      return issued;
    },
  };
}

/** `DELETE /installation/token` authenticated by the token itself (https://docs.github.com/rest/apps/installations). */
export async function revokeInstallationToken(
  api: GithubApi,
  token: string,
  signal: AbortSignal,
): Promise<boolean> {
  const gone = await api.call(
    { method: "DELETE", path: "/installation/token", authorization: `Bearer ${token}`, signal },
    false,
  );
  return gone === undefined;
}

async function revokeQuietly(api: GithubApi, token: string): Promise<void> {
  try {
    await revokeInstallationToken(api, token, AbortSignal.timeout(5000));
  } catch {
    // It expires within the hour on its own; it was never handed out.
  }
}
