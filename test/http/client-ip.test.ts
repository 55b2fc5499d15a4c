import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
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
    assert.equal(ip("127.0.0.1", "not-an-ip"), undefined, "an unparseable hop: the client is unknown");
    assert.equal(ip("127.0.0.1", "2001:db8::1"), "2001:db8::1");
  });
});

/** Canonical IPv4 text and the ways proxies, people and attackers mis-spell one. */
const octets = fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 255 })));
const canonicalV4 = octets.map((o) => o.join("."));
const portText = fc.integer({ min: 0, max: 65535 }).map(String);
const nonCanonicalV4 = fc.oneof(
  // leading zeros (octal to inet_aton), fewer parts (10.1 = 10.0.0.1), hex parts, out-of-range parts
  octets.map((o) => o.map((x, i) => (i === 0 ? `0${x}` : String(x))).join(".")),
  octets.map((o) => o.slice(0, 2).join(".")),
  octets.map((o) => o.slice(0, 3).join(".")),
  octets.map((o) => [`0x${(o[0] ?? 0).toString(16)}`, ...o.slice(1)].join(".")),
  octets.map((o) => [256 + (o[0] ?? 0), ...o.slice(1)].join(".")),
);
const v6 = fc.ipV6().filter((a) => !a.toLowerCase().includes("ffff:") && !a.includes("."));
/** Hops no proxy writes for a client address: every one must leave the client unknown. */
const unparseableHop = fc.oneof(
  nonCanonicalV4,
  nonCanonicalV4.chain((a) => portText.map((p) => `${a}:${p}`)),
  canonicalV4.map((a) => `${a}:70000`),
  canonicalV4.map((a) => `${a}:`),
  v6.map((a) => `[${a}]`),
  v6.map((a) => `[${a}]:`),
  v6.map((a) => `${a}:80]`),
  fc.constantFrom("unknown", "_hidden", "", "  ", "localhost", "[]:80", "1.2.3.4 5.6.7.8", "1.2.3.4:80:80"),
  fc.string({ maxLength: 30 }).filter((s) => !/^[\d.:a-fA-F[\] ]*$/.test(s)),
);

describe("X-Forwarded-For behind a trusted proxy (property)", () => {
  const ip = createClientIpResolver(["10.0.0.0/8"]);

  it("an unparseable right-most hop makes the client unknown, never the proxy", () => {
    fc.assert(
      fc.property(unparseableHop, fc.array(canonicalV4, { maxLength: 3 }), (hop, left) => {
        assert.equal(ip("10.0.0.1", [...left, hop].join(", ")), undefined, JSON.stringify(hop));
      }),
    );
  });

  it("an unparseable hop behind trusted hops makes the client unknown too", () => {
    fc.assert(
      fc.property(unparseableHop, (hop) => {
        assert.equal(ip("10.0.0.1", `${hop}, 10.9.9.9`), undefined);
      }),
    );
  });

  it("accepts the unambiguous forms proxies write: IPv4, IPv4:port, IPv6, [IPv6]:port", () => {
    fc.assert(
      fc.property(canonicalV4, v6, portText, (a4, a6, port) => {
        fc.pre(!a4.startsWith("10."));
        assert.equal(ip("10.0.0.1", a4), a4);
        assert.equal(ip("10.0.0.1", `${a4}:${port}`), a4);
        const six = ip("10.0.0.1", `[${a6}]:${port}`);
        assert.equal(six, ip("10.0.0.1", a6));
        assert.notEqual(six, undefined);
      }),
    );
  });

  it("trustedProxies refuses non-canonical entries (010.0.0.1 is not 8.0.0.1, 10.1/16 is not 10.0.0.0/16)", () => {
    fc.assert(
      fc.property(nonCanonicalV4, fc.integer({ min: 0, max: 32 }), (addr, bits) => {
        assert.throws(() => createClientIpResolver([addr]), /not an IPv4 or IPv6 address/);
        assert.throws(() => createClientIpResolver([`${addr}/${bits}`]), /not an IPv4 or IPv6 address/);
      }),
    );
    assert.throws(() => createClientIpResolver(["10.0.0.0/08"]), /prefix length/);
    assert.throws(() => createClientIpResolver(["10.1.0.0/8"]), /host bits set/);
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
      for (const hop of ["10.1.2.3:8443x", "unknown", "010.1.2.3", "[::1]", "junk"]) {
        assert.equal(
          (await post(proxied, "1", hop)).status,
          400,
          `${hop}: an unparseable hop leaves the client unknown, so the proxy's network does not admit it`,
        );
      }
      assert.equal((await post(proxied, "2", "10.1.2.3:51234")).status, 200, "IPv4:port is the IPv4 address");
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});
