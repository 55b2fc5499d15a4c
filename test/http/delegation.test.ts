import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { DemoIssuer } from "../../src/dev/demo-issuer.ts";
import {
  BROKER_ISSUER,
  JWT_BEARER,
  JWT_TYPE,
  startTestBroker,
  type TestBroker,
  TOKEN_EXCHANGE,
} from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";
import { decodeJwt, jsonOf, postForm } from "../helpers/in-process.ts";
import { brokerAsProvider } from "../helpers/self-provider.ts";

const MCP = "https://mcp.acme.internal";

/** An agent pod (namespace `agents`) acting for a support engineer of the corporate IdP (CONTRACT §9). */
const POLICIES = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: agent-for-support }
spec:
  provider: corp
  match: { tenant_id: "acme-1" }
  condition: '"support" in claims.groups'
  actors:
    - provider: prod-cluster
      match: { /kubernetes.io/namespace: agents }
      condition: subject.department == "support" && request.audience == "${MCP}"
  grant:
    subject: "corp:{{claims.sub}}"
    targets:
      - audience: ${MCP}
        scopes: [tickets:read, tickets:write]
        defaultScopes: [tickets:read]
      - audience: https://other.acme.internal
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: corp-no-actors }
spec:
  provider: corp
  match: { tenant_id: "acme-2" }
  grant: { targets: [{ audience: ${MCP} }] }
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: chained }
spec:
  provider: broker
  match: { client_id: { in: [agent-for-support, chained] } }
  actors:
    - provider: prod-cluster
      match: { /kubernetes.io/namespace: agents }
  grant:
    subject: "{{claims.sub}}"
    targets: [{ audience: ${MCP}, scopes: [tickets:read], defaultScopes: [tickets:read] }]
---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: resource-server }
spec:
  provider: github
  match: { repository_owner_id: "65", repository_id: "80" }
  grant: { targets: [{ audience: ${BROKER_ISSUER}, scopes: [wif-broker:introspect], defaultScopes: [wif-broker:introspect] }] }
`;

describe("delegation: actor_token, act, may_act, maxDelegationDepth (RFC 8693, CONTRACT §9)", () => {
  let b: TestBroker;
  let corp: DemoIssuer;
  let cluster: DemoIssuer;
  before(async () => {
    corp = await DemoIssuer.start();
    cluster = await DemoIssuer.start();
    // The broker trusts its own tokens for re-exchange.
    const self = brokerAsProvider([MCP]);
    b = self.attach(
      await startTestBroker({
        policies: POLICIES,
        providers: [
          { name: "corp", issuer: corp.url, allowInsecureHttp: true },
          { name: "prod-cluster", issuer: cluster.url, allowInsecureHttp: true },
          self.provider,
        ],
        fetchImpl: self.fetchImpl,
      }),
    );
  });
  after(async () => {
    await b.close();
    await corp.close();
    await cluster.close();
  });

  const engineer = (claims: Record<string, unknown> = {}) =>
    corp.mint({
      sub: "user-42",
      aud: BROKER_ISSUER,
      tenant_id: "acme-1",
      department: "support",
      groups: ["support", "staff"],
      ...claims,
    });
  const agent = (name = "mcp-agent", namespace = "agents") =>
    cluster.mint(
      fixtureClaims("kubernetes-projected", {
        sub: `system:serviceaccount:${namespace}:${name}`,
        "kubernetes.io": { namespace, serviceaccount: { name, uid: `uid-${name}` } },
      }),
    );
  const exchange = (subject: string, actor?: string, extra: Record<string, string> = {}) =>
    postForm(b.broker, "/token", {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject,
      subject_token_type: JWT_TYPE,
      audience: MCP,
      ...(actor === undefined ? {} : { actor_token: actor, actor_token_type: JWT_TYPE }),
      ...extra,
    });
  async function issued(res: Response) {
    const body = await jsonOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    return { token: String(body.access_token), claims: decodeJwt(body.access_token).claims };
  }
  async function refused(res: Response, reason: string) {
    const body = await jsonOf(res);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.error, "invalid_request");
    assert.equal(b.audit.at(-1)?.reason, reason);
  }

  it("issues a token that keeps the subject's sub and names the actor in act", async () => {
    const { claims } = await issued(await exchange(engineer(), agent()));
    assert.equal(claims.sub, "corp:user-42");
    assert.deepEqual(claims.act, { iss: cluster.url, sub: "system:serviceaccount:agents:mcp-agent" });
    assert.equal(claims.client_id, "agent-for-support");
    const event = b.audit.at(-1);
    assert.equal(event?.actor_iss, cluster.url);
    assert.equal(event?.actor_sub, "system:serviceaccount:agents:mcp-agent");
    assert.ok(event?.actor_token_sha256);
    const checks = event?.trace?.find((t) => t.policy === "agent-for-support")?.checks.map((c) => c.check);
    assert.ok(checks?.includes("actor") && checks.includes("actors[0].condition"), JSON.stringify(checks));
  });

  it("nests the subject token's own act chain inside the new act", async () => {
    const prior = { sub: "first-agent", iss: "https://idp.example", act: { sub: "origin" } };
    const { claims } = await issued(await exchange(engineer({ act: prior }), agent()));
    assert.deepEqual(claims.act, {
      iss: cluster.url,
      sub: "system:serviceaccount:agents:mcp-agent",
      act: prior,
    });
  });

  it("keeps a subject token's act when no actor comes with the request (never dropped)", async () => {
    const prior = { sub: "first-agent" };
    const { claims } = await issued(await exchange(engineer({ act: prior })));
    assert.deepEqual(claims.act, prior);
  });

  it("honours may_act (RFC 8693 §4.4): the actor it names passes, another is refused", async () => {
    const mayAct = { iss: cluster.url, sub: "system:serviceaccount:agents:mcp-agent" };
    await issued(await exchange(engineer({ may_act: mayAct }), agent()));
    await refused(
      await exchange(engineer({ may_act: mayAct }), agent("other-agent")),
      "policy.actor_not_admitted",
    );
    assert.match(JSON.stringify(b.audit.at(-1)?.trace), /may_act/);
  });

  it("counts the new actor in maxDelegationDepth: 3 prior levels pass, 4 are refused", async () => {
    const chain = (n: number): Record<string, unknown> | undefined =>
      n === 0 ? undefined : { sub: `a${n}`, ...(n > 1 ? { act: chain(n - 1) } : {}) };
    const { claims } = await issued(await exchange(engineer({ act: chain(3) }), agent()));
    let depth = 0;
    for (let a = claims.act as Record<string, unknown> | undefined; a; a = a.act as typeof a) depth++;
    assert.equal(depth, 4);
    await refused(await exchange(engineer({ act: chain(4) }), agent()), "policy.actor_not_admitted");
    await refused(await exchange(engineer({ act: chain(5) })), "policy.actor_not_admitted");
  });

  describe("every refusal of CONTRACT §9 → 400 invalid_request", () => {
    it("an actor no actors entry admits (another namespace)", async () => {
      await refused(await exchange(engineer(), agent("x", "default")), "policy.actor_not_admitted");
    });
    it("an actor whose condition fails (the subject is not in support)", async () => {
      await refused(await exchange(engineer({ department: "sales" }), agent()), "policy.actor_not_admitted");
    });
    it("a policy without actors", async () => {
      await refused(await exchange(engineer({ tenant_id: "acme-2" }), agent()), "policy.actor_not_admitted");
    });
    it("a bad actor token (signature broken)", async () => {
      const [h, p] = agent().split(".");
      const forged = `${h}.${p}.${agent("someone-else").split(".")[2]}`;
      await refused(await exchange(engineer(), forged), "actor.jwt.bad_signature");
    });
    it("an actor token from an unknown issuer", async () => {
      const stranger = await DemoIssuer.start();
      try {
        await refused(await exchange(engineer(), stranger.mint({ sub: "x" })), "actor.jwt.unknown_issuer");
      } finally {
        await stranger.close();
      }
    });
    it("actor_token without actor_token_type, and the reverse", async () => {
      const res = await postForm(b.broker, "/token", {
        grant_type: TOKEN_EXCHANGE,
        subject_token: engineer(),
        subject_token_type: JWT_TYPE,
        audience: MCP,
        actor_token: agent(),
      });
      await refused(res, "request.missing_parameter");
      await refused(
        await exchange(engineer(), undefined, { actor_token_type: JWT_TYPE }),
        "request.missing_parameter",
      );
    });
    it("actor_token on the jwt-bearer grant", async () => {
      const res = await postForm(b.broker, "/token", {
        grant_type: JWT_BEARER,
        assertion: engineer(),
        audience: MCP,
        actor_token: agent(),
        actor_token_type: JWT_TYPE,
      });
      assert.equal(res.status, 400);
    });
    it("a revoked broker JWT presented again as the subject token", async () => {
      const { token } = await issued(await exchange(engineer(), agent()));
      assert.equal((await postForm(b.broker, "/revoke", { token })).status, 200);
      const res = await exchange(token, agent("second"));
      assert.equal(res.status, 400);
      assert.equal(b.audit.at(-1)?.reason, "jwt.revoked");
    });
  });

  it("a DPoP-bound token re-exchanged needs a proof by the same key (proof key mismatch → invalid_dpop_proof)", async () => {
    const keyPair = async () => {
      const { privateKey, publicKey } = await generateKeyPair("ES256");
      const jwk = await exportJWK(publicKey);
      return {
        jkt: await calculateJwkThumbprint(jwk),
        proof: () =>
          new SignJWT({
            jti: crypto.randomUUID(),
            htm: "POST",
            htu: `${BROKER_ISSUER}/token`,
            iat: Math.floor(Date.now() / 1000),
          })
            .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: jwk as JWK })
            .sign(privateKey),
      };
    };
    const a = await keyPair();
    const other = await keyPair();
    const first = await postForm(
      b.broker,
      "/token",
      {
        grant_type: TOKEN_EXCHANGE,
        subject_token: engineer(),
        subject_token_type: JWT_TYPE,
        audience: MCP,
        actor_token: agent(),
        actor_token_type: JWT_TYPE,
      },
      { dpop: await a.proof() },
    );
    const { token, claims } = await issued(first);
    assert.deepEqual(claims.cnf, { jkt: a.jkt });
    const again = (dpop?: string) =>
      postForm(
        b.broker,
        "/token",
        { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TYPE, audience: MCP },
        dpop === undefined ? {} : { dpop },
      );
    for (const proof of [undefined, await other.proof()]) {
      const res = await again(proof);
      assert.equal(res.status, 400);
      assert.equal((await jsonOf(res)).error, "invalid_dpop_proof");
      assert.equal(b.audit.at(-1)?.reason, "dpop.key_mismatch");
    }
    const ok = await issued(await again(await a.proof()));
    assert.deepEqual(ok.claims.cnf, { jkt: a.jkt });
    assert.deepEqual(ok.claims.act, claims.act, "the chain survives the bound re-exchange");
  });

  it("introspection of a delegated token shows act", async () => {
    const { token, claims } = await issued(await exchange(engineer(), agent()));
    const bearer = await issued(
      await postForm(b.broker, "/token", {
        grant_type: TOKEN_EXCHANGE,
        subject_token: b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: "80" })),
        subject_token_type: JWT_TYPE,
        audience: BROKER_ISSUER,
      }),
    );
    const res = await postForm(
      b.broker,
      "/introspect",
      { token },
      { authorization: `Bearer ${bearer.token}` },
    );
    const body = await jsonOf(res);
    assert.equal(body.active, true);
    assert.deepEqual(body.act, claims.act);
  });

  it("property: through any sequence of exchanges, act is exactly the actors in reverse, never dropped", async () => {
    const subjectTokens = new Map<number, string>();
    const agentToken = (i: number) => {
      const t = subjectTokens.get(i) ?? agent(`agent-${i}`);
      subjectTokens.set(i, t);
      return t;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (steps) => {
          let subject = engineer();
          const chain: string[] = []; // innermost first
          for (const step of steps) {
            const res = await exchange(subject, step === undefined ? undefined : agentToken(step));
            const expected =
              step === undefined ? chain : [...chain, `system:serviceaccount:agents:agent-${step}`];
            if (expected.length > 4) {
              assert.equal(res.status, 400);
              return;
            }
            const { token, claims } = await issued(res);
            const got: string[] = [];
            for (let a = claims.act as Record<string, unknown> | undefined; a; a = a.act as typeof a)
              got.unshift(String(a.sub));
            assert.deepEqual(got, expected);
            assert.equal(claims.sub, "corp:user-42");
            chain.splice(0, chain.length, ...expected);
            subject = token;
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
