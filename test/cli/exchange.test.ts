import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { EXIT, shellQuote } from "../../src/cli/exchange.ts";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import { TOKEN_TYPE } from "../../src/mint/types.ts";
import { type FakeSts, STS_FAILURES, startFakeSts } from "../fakes/sts-server.ts";
import { BROKER_ISSUER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { CLI, type CliResult } from "../helpers/cli.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const K8S_ISSUER_CLAIMS = fixtureClaims("kubernetes-projected");
const GCE_CLAIMS = fixtureClaims("gcp-metadata-full");

const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: octo-deploy }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "74", ref: { glob: "refs/heads/*" } }
  grant:
    ttl: 15m
    subject: "github:{{claims.repository}}"
    targets:
      - audience: https://deploy.acme.internal
        scopes: [deploy:read, deploy:write]
        defaultScopes: [deploy:read]
      - audience: aws-prod-deploy
        aws: { roleArn: "${ROLE}", sessionName: "gh-{{claims.run_id}}", sessionTags: { repo: "{{claims.repository}}" } }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: gce-build-agent }
spec:
  provider: google
  match: { email: deployer@acme-prod.iam.gserviceaccount.com, /google/compute_engine/project_id: acme-prod }
  grant: { targets: [{ audience: https://deploy.acme.internal, scopes: [deploy:read], defaultScopes: [deploy:read] }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: k8s-payments-api }
spec:
  provider: prod-cluster
  match: { /kubernetes.io/namespace: payments, /kubernetes.io/serviceaccount/uid: 3d4e5f6a-0000-4000-8000-000000000003 }
  grant: { targets: [{ audience: https://deploy.acme.internal, scopes: [deploy:read], defaultScopes: [deploy:read] }] }
`;

/** Every identity token handed to the CLI, and the Actions request token: none may ever reach its output. */
const secrets: string[] = [];

/** Runs `wif-broker exchange` without blocking the event loop: the broker answering it lives in this process. */
function exchange(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const k of [
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
  ]) {
    delete childEnv[k];
  }
  const child = spawn(process.execPath, [CLI, "exchange", ...args], {
    env: { ...childEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const leaked = secrets.find((s) => stdout.includes(s) || stderr.includes(s));
      if (leaked !== undefined)
        reject(new Error("a subject token (or the Actions request token) reached the output"));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Evaluates `wif-broker exchange --format env` output in a POSIX shell and reads the variables back. */
function evalEnv(exports: string, names: string[]): Record<string, string> {
  const script = `${exports}\nfor n in ${names.join(" ")}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: {} });
  assert.equal(r.status, 0, r.stderr);
  const values = r.stdout.split("\0");
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? ""]));
}

interface Recorded {
  url: URL;
  headers: IncomingHttpHeaders;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe("wif-broker exchange (the CLI as a child process against a real broker)", () => {
  let b: TestBroker;
  let sts: FakeSts;
  let gce: DemoIssuer;
  let cluster: DemoIssuer;
  let dir: string;
  let runId = 5_200_000_000;

  /** A GitHub Actions token (fresh run_id: fresh AWS session, no credential-cache hit). */
  const githubToken = (over: Record<string, unknown> = {}) => {
    const token = b.idp.mint({ ...fixtureClaims("github-actions-branch"), run_id: String(++runId), ...over });
    secrets.push(token);
    return token;
  };
  const tokenFile = (token: string, name = "token.jwt") => {
    const path = join(dir, `${randomBytes(4).toString("hex")}-${name}`);
    writeFileSync(path, `${token}\n`);
    return path;
  };
  const jwks = () => createRemoteJWKSet(new URL(`${b.url}/jwks`));

  // A loopback fake of the GitHub Actions OIDC endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL).
  const ACTIONS_REQUEST_TOKEN = `ghs_${randomBytes(16).toString("hex")}`;
  let actions: Server;
  let actionsUrl = "";
  const actionsRequests: Recorded[] = [];

  // A loopback fake of the GCE metadata server; `flavorless` makes it answer like something that is not one.
  let metadata: Server;
  let metadataHost = "";
  let flavorless = false;
  const metadataRequests: Recorded[] = [];

  before(async () => {
    secrets.push(ACTIONS_REQUEST_TOKEN);
    dir = mkdtempSync(join(tmpdir(), "wif-exchange-"));
    sts = await startFakeSts();
    gce = await DemoIssuer.start();
    cluster = await DemoIssuer.start();
    b = await startTestBroker({
      policies: POLICIES,
      config: { targets: { aws: { region: "us-east-1", endpoint: sts.url } } },
      providers: [
        { name: "google", issuer: gce.url, allowInsecureHttp: true },
        { name: "prod-cluster", issuer: cluster.url, allowInsecureHttp: true },
      ],
    });

    actions = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      actionsRequests.push({ url, headers: req.headers });
      // actions/toolkit getIDToken: Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>; audience as a parameter.
      if (
        !/^bearer /i.test(req.headers.authorization ?? "") ||
        req.headers.authorization?.slice(7) !== ACTIONS_REQUEST_TOKEN
      ) {
        res.writeHead(401).end();
        return;
      }
      const audience = url.searchParams.get("audience");
      if (url.pathname !== "/_apis/token" || url.searchParams.get("api-version") !== "2.0" || !audience) {
        res.writeHead(400).end();
        return;
      }
      const value = githubToken({ aud: audience });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count: 1, value }));
    });
    actionsUrl = `http://${await listen(actions)}/_apis/token?api-version=2.0`;

    metadata = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      metadataRequests.push({ url, headers: req.headers });
      // The real metadata server refuses requests without Metadata-Flavor: Google (403).
      if (req.headers["metadata-flavor"] !== "Google") {
        res.writeHead(403).end("Missing Metadata-Flavor:Google header.");
        return;
      }
      const audience = url.searchParams.get("audience");
      if (url.pathname !== "/computeMetadata/v1/instance/service-accounts/default/identity" || !audience) {
        res.writeHead(404).end();
        return;
      }
      const token = gce.mint({ ...GCE_CLAIMS, aud: audience });
      secrets.push(token);
      res.writeHead(200, {
        "content-type": "application/text",
        ...(flavorless ? {} : { "metadata-flavor": "Google" }),
      });
      res.end(token);
    });
    metadataHost = await listen(metadata);
  });

  after(async () => {
    await Promise.all([
      b.close(),
      sts.close(),
      gce.close(),
      cluster.close(),
      close(actions),
      close(metadata),
    ]);
  });

  beforeEach(() => {
    sts.reset();
    actionsRequests.length = 0;
    metadataRequests.length = 0;
    flavorless = false;
  });

  describe("token sources", () => {
    it("--token-file: a trailing newline is ignored; --format json prints the broker's response", async () => {
      const token = githubToken();
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(token),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const body = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), [
        "access_token",
        "expires_in",
        "issued_token_type",
        "scope",
        "token_type",
      ]);
      assert.equal(body.issued_token_type, TOKEN_TYPE.accessToken);
      assert.equal(body.token_type, "Bearer");
      assert.equal(body.scope, "deploy:read");
      const { payload } = await jwtVerify(String(body.access_token), jwks(), {
        issuer: BROKER_ISSUER,
        audience: "https://deploy.acme.internal",
      });
      assert.equal(payload.sub, "github:octo-org/octo-repo");
    });

    it("--token-env with --scope and --format token prints the access token alone", async () => {
      const r = await exchange(
        [
          "--broker",
          b.url,
          "--audience",
          "https://deploy.acme.internal",
          "--token-env",
          "MY_ID_TOKEN",
          "--scope",
          "deploy:write",
          "--format",
          "token",
        ],
        { MY_ID_TOKEN: `  ${githubToken()}\n` },
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.equal(lines.length, 2);
      assert.equal(lines[1], "");
      const { payload } = await jwtVerify(lines[0] ?? "", jwks(), {
        audience: "https://deploy.acme.internal",
      });
      assert.equal(payload.scope, "deploy:write");
    });

    it("--github-actions: asks the Actions OIDC endpoint for the broker's issuer with the request token", async () => {
      const r = await exchange(
        [
          "--broker",
          b.url,
          "--audience",
          "https://deploy.acme.internal",
          "--github-actions",
          "--format",
          "token",
        ],
        {
          ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: ACTIONS_REQUEST_TOKEN,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(actionsRequests.length, 1);
      const [req] = actionsRequests;
      assert.equal(
        req?.url.searchParams.get("audience"),
        BROKER_ISSUER,
        "the issuer from the broker's metadata",
      );
      assert.equal(req?.url.searchParams.get("api-version"), "2.0", "the endpoint's own parameters are kept");
      await jwtVerify(r.stdout.trim(), jwks(), { audience: "https://deploy.acme.internal" });
    });

    it("--github-actions --id-token-audience: the token is requested for that audience (which this broker refuses)", async () => {
      const r = await exchange(
        [
          "--broker",
          b.url,
          "--audience",
          "https://deploy.acme.internal",
          "--github-actions",
          "--id-token-audience",
          "sts.amazonaws.com",
        ],
        { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: ACTIONS_REQUEST_TOKEN },
      );
      assert.equal(actionsRequests[0]?.url.searchParams.get("audience"), "sts.amazonaws.com");
      assert.equal(r.code, EXIT.refused);
      assert.match(r.stderr, /refused the exchange \(HTTP 400\): invalid_request: .*\(request id \w+\)/);
      assert.equal(r.stdout, "");
    });

    it("--github-actions outside Actions (or without id-token: write) is a set-up error", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--github-actions",
      ]);
      assert.equal(r.code, EXIT.usage);
      assert.match(r.stderr, /ACTIONS_ID_TOKEN_REQUEST_URL.*id-token: write/s);
      assert.equal(actionsRequests.length, 0);
    });

    it("--github-actions with a request token the endpoint refuses: exit 1, and that token is not printed", async () => {
      const r = await exchange(
        ["--broker", b.url, "--audience", "https://deploy.acme.internal", "--github-actions"],
        {
          ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: "ghs_wrong",
        },
      );
      assert.equal(r.code, EXIT.refused);
      assert.match(r.stderr, /GitHub Actions OIDC endpoint answered HTTP 401/);
      assert.ok(!r.stderr.includes("ghs_wrong"));
    });

    it("--gcp-metadata: GCE_METADATA_HOST, Metadata-Flavor: Google, audience = the broker's issuer, format=full", async () => {
      const r = await exchange(
        ["--broker", b.url, "--audience", "https://deploy.acme.internal", "--gcp-metadata"],
        {
          GCE_METADATA_HOST: metadataHost,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(metadataRequests.length, 1);
      const [req] = metadataRequests;
      assert.equal(req?.headers["metadata-flavor"], "Google");
      assert.equal(req?.url.searchParams.get("audience"), BROKER_ISSUER);
      assert.equal(req?.url.searchParams.get("format"), "full");
      const body = JSON.parse(r.stdout) as { access_token: string };
      const { payload } = await jwtVerify(body.access_token, jwks(), {
        audience: "https://deploy.acme.internal",
      });
      assert.equal(payload.client_id, "gce-build-agent");
    });

    it("--gcp-metadata refuses an answer without Metadata-Flavor: Google (not a metadata server)", async () => {
      flavorless = true;
      const r = await exchange(
        ["--broker", b.url, "--audience", "https://deploy.acme.internal", "--gcp-metadata"],
        {
          GCE_METADATA_HOST: metadataHost,
        },
      );
      assert.equal(r.code, EXIT.refused);
      assert.match(r.stderr, /lacks "Metadata-Flavor: Google"/);
      assert.equal(r.stdout, "");
    });

    it("--k8s reads the projected service-account token file", async () => {
      const token = cluster.mint(K8S_ISSUER_CLAIMS);
      secrets.push(token);
      const file = tokenFile(token, "wif-broker-token");
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--k8s",
        "--k8s-token-file",
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const body = JSON.parse(r.stdout) as { access_token: string };
      const { payload } = await jwtVerify(body.access_token, jwks(), {
        audience: "https://deploy.acme.internal",
      });
      assert.equal(payload.client_id, "k8s-payments-api");
      assert.equal(payload.sub, "prod-cluster:system:serviceaccount:payments:api");
    });

    it("--k8s without a mounted token names the file and how to mount it", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--k8s",
        "--k8s-token-file",
        join(dir, "absent"),
      ]);
      assert.equal(r.code, EXIT.usage);
      assert.match(r.stderr, /cannot read .*absent \(ENOENT\); mount a projected serviceAccountToken volume/);
    });

    it("a token file that holds no JWT is refused locally, without quoting it", async () => {
      const junk = `not-a-jwt-${randomBytes(8).toString("hex")}`;
      secrets.push(junk);
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(junk),
      ]);
      assert.equal(r.code, EXIT.usage);
      assert.match(r.stderr, /does not hold a JWT/);
    });
  });

  describe("formats", () => {
    it("--format env (broker JWT): WIF_* export lines a POSIX shell evaluates", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(githubToken()),
        "--format",
        "env",
      ]);
      assert.equal(r.code, 0, r.stderr);
      for (const line of r.stdout.trimEnd().split("\n")) assert.match(line, /^export WIF_[A-Z_]+='[^']*'$/);
      const env = evalEnv(r.stdout, [
        "WIF_ACCESS_TOKEN",
        "WIF_TOKEN_TYPE",
        "WIF_ISSUED_TOKEN_TYPE",
        "WIF_EXPIRES_IN",
        "WIF_EXPIRES_AT",
        "WIF_SCOPE",
      ]);
      await jwtVerify(env.WIF_ACCESS_TOKEN ?? "", jwks(), { audience: "https://deploy.acme.internal" });
      assert.equal(env.WIF_TOKEN_TYPE, "Bearer");
      assert.equal(env.WIF_ISSUED_TOKEN_TYPE, TOKEN_TYPE.accessToken);
      assert.equal(env.WIF_EXPIRES_IN, "900");
      assert.ok(Math.abs(Date.parse(env.WIF_EXPIRES_AT ?? "") - (Date.now() + 900_000)) < 60_000);
      assert.equal(env.WIF_SCOPE, "deploy:read");
    });

    it("--format env (AWS): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "aws-prod-deploy",
        "--token-file",
        tokenFile(githubToken()),
        "--format",
        "env",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [issued] = sts.issued;
      assert.ok(issued);
      const env = evalEnv(r.stdout, [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
      ]);
      assert.deepEqual(env, {
        AWS_ACCESS_KEY_ID: issued.accessKeyId,
        AWS_SECRET_ACCESS_KEY: issued.secretAccessKey,
        AWS_SESSION_TOKEN: issued.sessionToken,
        AWS_CREDENTIAL_EXPIRATION: issued.expiration.toISOString(),
      });
      assert.doesNotMatch(r.stdout, /WIF_/);
    });

    it("--format credential-process prints the AWS credential_process document and asks for AWS credentials", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "aws-prod-deploy",
        "--token-file",
        tokenFile(githubToken()),
        "--format",
        "credential-process",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [issued] = sts.issued;
      assert.ok(issued);
      assert.deepEqual(JSON.parse(r.stdout), {
        Version: 1,
        AccessKeyId: issued.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        SessionToken: issued.sessionToken,
        Expiration: issued.expiration.toISOString(),
      });
      const last = b.audit.at(-1);
      assert.equal(last?.decision, "allow");
    });

    it("--format credential-process for a non-AWS target: refused by the broker before anything is minted", async () => {
      const before = b.audit.length;
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(githubToken()),
        "--format",
        "credential-process",
      ]);
      assert.equal(r.code, EXIT.refused);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /invalid_request/);
      assert.match(
        r.stderr,
        /--format credential-process requests urn:wif-broker:token-type:aws-credentials/,
      );
      assert.equal(b.audit.length, before + 1);
      assert.equal(b.audit.at(-1)?.decision, "deny");
    });

    it("--requested-token-type is sent to the broker", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(githubToken()),
        "--requested-token-type",
        TOKEN_TYPE.jwt,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { issued_token_type: string }).issued_token_type, TOKEN_TYPE.jwt);
    });

    it("shellQuote survives quotes, spaces, newlines and $ in a POSIX shell", () => {
      const nasty = `it's "$HOME" \`id\` \\ \n; rm -rf / '' $(x)`;
      assert.deepEqual(evalEnv(`export X=${shellQuote(nasty)}\n`, ["X"]), { X: nasty });
    });
  });

  describe("failures: the broker's error on stderr, never a token; exit 1 refused, 2 usage, 3 unavailable", () => {
    it("an audience the policy does not grant: invalid_target, exit 1", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://other.acme.internal",
        "--token-file",
        tokenFile(githubToken()),
      ]);
      assert.equal(r.code, EXIT.refused);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        /^wif-broker: exchange: the broker refused the exchange \(HTTP 400\): invalid_target: .*\(request id [0-9A-Z]{26}\)\n$/,
      );
    });

    it("a scope the target does not allow: invalid_scope, exit 1", async () => {
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "https://deploy.acme.internal",
        "--scope",
        "deploy:admin",
        "--token-file",
        tokenFile(githubToken()),
      ]);
      assert.equal(r.code, EXIT.refused);
      assert.match(r.stderr, /invalid_scope/);
    });

    it("STS throttling: 503 temporarily_unavailable with Retry-After, exit 3", async () => {
      sts.fail(STS_FAILURES.throttling, STS_FAILURES.throttling, STS_FAILURES.throttling);
      const r = await exchange([
        "--broker",
        b.url,
        "--audience",
        "aws-prod-deploy",
        "--token-file",
        tokenFile(githubToken()),
        "--format",
        "credential-process",
      ]);
      assert.equal(r.code, EXIT.unavailable);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        /the broker is unavailable \(HTTP 503\): temporarily_unavailable: .*; retry after \d+s/,
      );
      assert.doesNotMatch(r.stderr, /Rate exceeded/);
    });

    it("an unreachable broker: exit 3", async () => {
      const dead = createServer();
      const host = await listen(dead);
      await close(dead);
      const r = await exchange([
        "--broker",
        `http://${host}`,
        "--audience",
        "https://deploy.acme.internal",
        "--token-file",
        tokenFile(githubToken()),
      ]);
      assert.equal(r.code, EXIT.unavailable);
      assert.match(r.stderr, /cannot reach the broker \(ECONNREFUSED\)/);
    });

    it("a broker that never answers: --timeout ends it, exit 3", async () => {
      const hanging = createServer(() => {});
      const host = await listen(hanging);
      const started = Date.now();
      const r = await exchange([
        "--broker",
        `http://${host}`,
        "--audience",
        "a",
        "--token-file",
        tokenFile(githubToken()),
        "--timeout",
        "1s",
      ]);
      await close(hanging);
      assert.equal(r.code, EXIT.unavailable);
      assert.match(r.stderr, /the broker: timed out after 1s/);
      assert.ok(Date.now() - started < 8_000);
    });

    const file = () => tokenFile(githubToken());
    const usage: Array<[string, () => string[]]> = [
      ["no arguments", () => []],
      ["no --broker", () => ["--audience", "a", "--token-file", file()]],
      ["no --audience", () => ["--broker", b.url, "--token-file", file()]],
      ["no token source", () => ["--broker", b.url, "--audience", "a"]],
      ["two token sources", () => ["--broker", b.url, "--audience", "a", "--token-file", file(), "--k8s"]],
      [
        "an unknown format",
        () => ["--broker", b.url, "--audience", "a", "--token-file", file(), "--format", "yaml"],
      ],
      [
        "a bad timeout",
        () => ["--broker", b.url, "--audience", "a", "--token-file", file(), "--timeout", "soon"],
      ],
      [
        "a broker that is no URL",
        () => ["--broker", "broker.example.com", "--audience", "a", "--token-file", file()],
      ],
      [
        "--k8s-token-file without --k8s",
        () => ["--broker", b.url, "--audience", "a", "--token-file", file(), "--k8s-token-file", "f"],
      ],
      [
        "credential-process with another requested token type",
        () => [
          "--broker",
          b.url,
          "--audience",
          "a",
          "--token-file",
          file(),
          "--format",
          "credential-process",
          "--requested-token-type",
          TOKEN_TYPE.jwt,
        ],
      ],
      ["an unknown flag", () => ["--broker", b.url, "--audience", "a", "--token-file", file(), "--verbose"]],
    ];
    for (const [name, args] of usage) {
      it(`usage error, exit 2: ${name}`, async () => {
        const before = b.audit.length;
        const r = await exchange(args());
        assert.equal(r.code, EXIT.usage, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^wif-broker: /);
        assert.equal(b.audit.length, before, "nothing was sent to the broker");
      });
    }
  });
});
