import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import { BROKER_ISSUER, JWT_BEARER, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

/**
 * An MCP-style client (the MCP authorization spec + its workload identity federation extension): it discovers the
 * broker through RFC 8414 metadata, then presents its own workload identity token as a jwt-bearer assertion
 * (RFC 7523 §2.1) with a `resource` indicator (RFC 8707) naming the MCP server, and a DPoP proof (RFC 9449).
 * oauth4webapi does the OAuth and DPoP work (the MCP TypeScript SDK's client auth helpers have no DPoP support).
 */
const MCP_SERVER = "https://tickets-mcp.acme.internal/mcp";

const POLICY = `
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: mcp-agent }
spec:
  provider: prod-cluster
  match: { /kubernetes.io/serviceaccount/uid: "3d4e5f6a-0000-4000-8000-000000000003" }
  grant:
    ttl: 5m
    targets:
      - audience: ${MCP_SERVER}
        scopes: [tickets:read]
        defaultScopes: [tickets:read]
        requireDpop: true
`;

describe("MCP client: RFC 8414 discovery → jwt-bearer + resource + DPoP (oauth4webapi)", () => {
  let b: TestBroker;
  let cluster: TestBroker["idp"];
  before(async () => {
    const { DemoIssuer } = await import("../../src/dev/demo-issuer.ts");
    cluster = await DemoIssuer.start();
    b = await startTestBroker({
      policies: POLICY,
      providers: [{ name: "prod-cluster", issuer: cluster.url, allowInsecureHttp: true }],
      config: { dpop: { nonce: true } },
    });
  });
  after(async () => {
    await b.close();
    await cluster.close();
  });

  /** The broker's issuer is https://broker.example.com; its URLs reach the loopback broker over a real socket. */
  const loopbackFetch = (url: string, options: object) =>
    fetch(url.replace(BROKER_ISSUER, b.url), options as RequestInit);

  it("gets a DPoP-bound token whose aud is the MCP server, retrying once with the server's nonce", async () => {
    const issuer = new URL(BROKER_ISSUER);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: "oauth2", [oauth.customFetch]: loopbackFetch }),
    );
    assert.ok(as.dpop_signing_alg_values_supported?.includes("ES256"));
    assert.ok(as.grant_types_supported?.includes(JWT_BEARER));

    const client: oauth.Client = { client_id: "tickets-agent" };
    const keyPair = await oauth.generateKeyPair("ES256");
    const dpop = oauth.DPoP(client, keyPair);
    const assertion = cluster.mint(fixtureClaims("kubernetes-projected"));
    const request = () =>
      oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.None(),
        JWT_BEARER,
        { assertion, resource: MCP_SERVER },
        { DPoP: dpop, [oauth.customFetch]: loopbackFetch },
      );
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.processGenericTokenEndpointResponse(as, client, await request());
      assert.fail("the first request has no nonce and must be refused with use_dpop_nonce");
    } catch (e) {
      assert.ok(oauth.isDPoPNonceError(e), String(e));
      // oauth4webapi kept the DPoP-Nonce from the error response; the retry carries it.
      tokens = await oauth.processGenericTokenEndpointResponse(as, client, await request());
    }
    assert.equal(tokens.token_type, "dpop");
    assert.equal(tokens.scope, "tickets:read");

    // What the MCP server checks: signature by the broker's keys, typ, iss, aud = itself, and cnf.jkt = the
    // thumbprint of the key the client proves possession of.
    const { payload, protectedHeader } = await jwtVerify(
      tokens.access_token,
      createRemoteJWKSet(new URL(`${b.url}/jwks`)),
      { issuer: BROKER_ISSUER, audience: MCP_SERVER, typ: "at+jwt" },
    );
    assert.equal(protectedHeader.typ, "at+jwt");
    assert.deepEqual(payload.cnf, { jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) });
    assert.equal(payload.client_id, "mcp-agent");
  });

  it("without DPoP the same request is refused (requireDpop)", async () => {
    const issuer = new URL(BROKER_ISSUER);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: "oauth2", [oauth.customFetch]: loopbackFetch }),
    );
    const client: oauth.Client = { client_id: "tickets-agent" };
    const response = await oauth.genericTokenEndpointRequest(
      as,
      client,
      oauth.None(),
      JWT_BEARER,
      { assertion: cluster.mint(fixtureClaims("kubernetes-projected")), resource: MCP_SERVER },
      { [oauth.customFetch]: loopbackFetch },
    );
    await assert.rejects(oauth.processGenericTokenEndpointResponse(as, client, response), (e: unknown) => {
      assert.ok(e instanceof oauth.ResponseBodyError);
      assert.equal(e.error, "invalid_dpop_proof");
      return true;
    });
  });
});
