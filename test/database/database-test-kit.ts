import { setTimeout as sleep } from "node:timers/promises";

/** What database tests share: the credentials document, a policy with database targets, /revoke, polling. */
export interface DbCredentials {
  Version: 1;
  Engine: "postgres" | "mysql";
  Host: string;
  Port: number;
  Database: string;
  Username: string;
  Password: string;
  Expiration: string;
}

/** A GitHub Actions policy (the fixture's owner and repository) with the given targets. */
export function policyFor(
  name: string,
  targets: Array<{ audience: string; block: string }>,
  match = "",
): string {
  return `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74"${match} }
  grant:
    subject: "github:{{claims.repository}}"
    targets:
${targets.map((t) => `      - audience: ${t.audience}\n        ${t.block}`).join("\n")}
`;
}

export function revoke(brokerUrl: string, token: string): Promise<Response> {
  return fetch(`${brokerUrl}/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** Polls `check` every 100 ms until it holds; fails once `deadline` (epoch ms) passes. */
export async function eventually(
  check: () => Promise<boolean>,
  deadline: number,
  what = "condition",
): Promise<void> {
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not hold in time`);
    await sleep(100);
  }
}
