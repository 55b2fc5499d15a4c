import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PACKAGE_ROOT, parseConfig } from "../config/load.ts";
import { DemoIssuer } from "../dev/demo-issuer.ts";
import { startBroker } from "../main.ts";
import { createLogger, syncStderr } from "../observability/log.ts";
import { playgroundAssetsBuilt } from "../runtime/playground.ts";
import { parseFlags } from "./shared.ts";

/** Claims of a GitHub Actions push to main, as the demo issuer signs them. */
const DEMO_CLAIMS = {
  sub: "repo:octo-org/octo-repo:ref:refs/heads/main",
  repository: "octo-org/octo-repo",
  repository_owner: "octo-org",
  repository_owner_id: "65",
  repository_id: "74",
  ref: "refs/heads/main",
  ref_type: "branch",
  sha: "d6fde92930d4715a2b49857d24b940956b26d2d3",
  event_name: "push",
  workflow_ref: "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
  job_workflow_ref: "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
  run_id: "5200000001",
  run_attempt: "1",
  actor: "octocat",
  actor_id: "12",
};

/** `wif-broker dev`: the broker plus a loopback demo issuer, and a curl command that performs a real exchange. */
export async function runDev(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { port: { type: "string", default: "8080" } });
  const playground = playgroundAssetsBuilt();
  if (!playground)
    process.stderr.write("wif-broker dev: no playground bundle (run npm run build): /playground is off\n");
  const demo = await DemoIssuer.start();
  const issuer = `http://127.0.0.1:${values.port}`;
  const config = parseConfig(
    {
      issuer,
      listen: { host: "127.0.0.1", port: Number(values.port) },
      policies: resolve(PACKAGE_ROOT, "examples", "dev", "policies"),
      errors: { verbose: true },
      providers: [{ name: "demo", issuer: demo.url, allowInsecureHttp: true }],
      // CONTRACT §13: on in dev, when the bundle was built (a source checkout before `npm run build` has none).
      playground: { enabled: playground },
    },
    "(dev)",
    process.cwd(),
  );
  // Synchronous log lines: everything start-up logs is out before the banner, and nothing lands inside it.
  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker(config, { logger: createLogger(undefined, syncStderr()) });
  } catch (e) {
    // The demo issuer's server would keep the process alive: a dev that cannot start must exit.
    await demo.close();
    throw e;
  }
  const file = join(mkdtempSync(join(tmpdir(), "wif-dev-")), "token.jwt");
  writeFileSync(file, `${demo.mint({ ...DEMO_CLAIMS, aud: issuer }, { ttl: 3600 })}\n`, { mode: 0o600 });
  process.stderr.write(`
wif-broker dev is running: broker ${broker.url}, demo issuer ${demo.url}
A GitHub-Actions-shaped identity token (valid 1 h) is in ${file}. Exchange it:

  curl -s ${broker.url}/token \\
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \\
    --data-urlencode subject_token@${file} \\
    -d audience=https://deploy.demo.internal -d scope=deploy:write

Discovery: ${broker.url}/.well-known/openid-configuration   Keys: ${broker.url}/jwks${playground ? `\nPlayground: ${broker.url}/playground (try the token and the policy in the browser)` : ""}
Policy: examples/dev/policies/demo.yaml (edit it; the broker reloads on save). Ctrl-C stops.

`);
  const stop = () => {
    void Promise.all([broker.close(), demo.close()]).then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return -1;
}
