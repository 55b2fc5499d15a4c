import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClientIpResolver } from "../../src/http/client-ip.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { fixtureClaims } from "../helpers/fixtures.ts";

describe("client address", () => {
  it("is the socket peer when no proxy is trusted: X-Forwarded-For cannot choose it", () => {
    const ip = createClientIpResolver([]);
    assert.equal(ip("127.0.0.1", "10.1.2.3"), "127.0.0.1");
    assert.equal(ip("::ffff:192.0.2.7", undefined), "192.0.2.7", "IPv4-mapped peers compare as IPv4");
    assert.equal(ip(undefined, "10.1.2.3"), undefined);
  });

  it("is the right-most untrusted X-Forwarded-For hop behind trusted proxies", () => {
    const ip = createClientIpResolver(["127.0.0.1", "10.0.0.0/8"]);
    assert.equal(ip("127.0.0.1", "203.0.113.9, 10.0.0.5"), "203.0.113.9");
    assert.equal(
      ip("127.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.5"),
      "203.0.113.9",
      "a client-supplied left part is ignored",
    );
    assert.equal(ip("192.0.2.1", "203.0.113.9"), "192.0.2.1", "an untrusted peer's header is ignored");
    assert.equal(ip("127.0.0.1", "not-an-ip"), "127.0.0.1");
    assert.equal(ip("127.0.0.1", "2001:db8::1"), "2001:db8::1");
  });
});

const policy = (name: string, cidr: string, repo: string) => `---
apiVersion: wif-broker/v1
kind: TrustPolicy
metadata: { name: ${name} }
spec:
  provider: github
  match: { repository_id: "${repo}" }
  access: { sourceCidrs: ["${cidr}"] }
  grant: { targets: [{ audience: https://x.internal }] }
`;

describe("access.sourceCidrs through HTTP", () => {
  it("admits by the socket address, and by X-Forwarded-For only from a trusted proxy", async () => {
    const policies = policy("loopback", "127.0.0.0/8", "1") + policy("office", "10.0.0.0/8", "2");
    const direct = await startTestBroker({ policies });
    const proxied = await startTestBroker({ policies, config: { http: { trustedProxies: ["127.0.0.1"] } } });
    try {
      const token = (b: typeof direct, repo: string) =>
        b.idp.mint(fixtureClaims("github-actions-branch", { repository_id: repo }));
      const post = (b: typeof direct, repo: string, xff?: string) =>
        fetch(`${b.url}/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            ...(xff ? { "x-forwarded-for": xff } : {}),
          },
          body: new URLSearchParams({
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token: token(b, repo),
            subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
            audience: "https://x.internal",
          }),
        });
      assert.equal((await post(direct, "1")).status, 200, "loopback client inside 127.0.0.0/8");
      assert.equal((await post(direct, "2")).status, 400, "loopback client outside 10.0.0.0/8");
      assert.equal((await post(direct, "2", "10.1.2.3")).status, 400, "a spoofed X-Forwarded-For is ignored");
      assert.equal(
        (await post(proxied, "2", "10.1.2.3")).status,
        200,
        "behind a trusted proxy the forwarded client counts",
      );
      assert.equal(
        (await post(proxied, "1", "203.0.113.5")).status,
        400,
        "…and the proxy's own address no longer does",
      );
      const audit = proxied.audit.at(-1);
      assert.equal(audit?.source_ip, "203.0.113.5");
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});
