import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, EMBEDDED_DEFAULT, loadConfig } from "../../src/config/load.ts";

function configFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "wif-config-"));
  const file = join(dir, "wif-broker.yaml");
  writeFileSync(file, text);
  return { dir, file };
}

describe("config loading (CONTRACT §4)", () => {
  it("falls back to the embedded default: in-memory store, ephemeral key, shipped policies", () => {
    const { config, source } = loadConfig({ cwd: mkdtempSync(join(tmpdir(), "wif-empty-")), env: {} });
    assert.equal(source, "(embedded default)");
    assert.equal(config.store.redis, undefined);
    assert.equal(config.signing.keysDir, undefined);
    assert.equal(config.policies, EMBEDDED_DEFAULT.policies);
    assert.equal(config.listen.port, 8080);
    assert.deepEqual(
      config.providers.map((p) => p.name),
      ["github", "gitlab", "google", "prod-cluster"],
    );
  });

  it("finds the file by --config, WIF_BROKER_CONFIG or ./wif-broker.yaml; PORT and REDIS_URL override", () => {
    const { dir, file } = configFile(
      "issuer: https://b.example\npolicies: ./p\nsigning: { keysDir: keys }\n",
    );
    assert.equal(loadConfig({ path: file, env: {} }).source, file);
    assert.equal(loadConfig({ env: { WIF_BROKER_CONFIG: file } }).source, file);
    const { config } = loadConfig({ cwd: dir, env: { PORT: "9090", REDIS_URL: "redis://127.0.0.1:6379/1" } });
    assert.equal(config.listen.port, 9090);
    assert.equal(config.store.redis, "redis://127.0.0.1:6379/1");
    assert.equal(config.policies, join(dir, "p"), "relative to the config file");
    assert.equal(config.signing.keysDir, join(dir, "keys"));
  });

  it("parses durations to seconds", () => {
    const { file } = configFile(
      "limits: { maxTtl: 15m, clockSkew: 30s }\nstore: { commandTimeout: 250ms }\n",
    );
    const { config } = loadConfig({ path: file, env: {} });
    assert.equal(config.limits.maxTtl, 900);
    assert.equal(config.limits.clockSkew, 30);
    assert.equal(config.store.commandTimeout, 0.25);
  });

  const bad: Array<[string, string, RegExp]> = [
    ["unknown key", "issuer: https://b.example\nbogus: 1\n", /wif-broker\.yaml: .*bogus/],
    ["a bad duration", "limits: { maxTtl: 15 minutes }\n", /limits\.maxTtl: "15 minutes" is not a duration/],
    ["a bad port", "listen: { port: 70000 }\n", /listen\.port/],
    ["an issuer that is not a URL", "issuer: broker\n", /issuer/],
    [
      "an HS algorithm",
      "providers: [{ name: a, issuer: https://a.example, algorithms: [HS256] }]\n",
      /providers\[0\]\.algorithms\[0\]/,
    ],
    [
      "a provider named twice",
      "providers: [{ name: a, issuer: https://a.example }, { name: a, issuer: https://b.example }]\n",
      /providers\[1\]\.name/,
    ],
    [
      "an issuer listed twice",
      "providers: [{ name: a, issuer: https://a.example }, { name: b, issuer: https://a.example }]\n",
      /providers\[1\]\.issuer/,
    ],
    ["a duplicate YAML key", "issuer: https://a.example\nissuer: https://b.example\n", /line 2/],
    [
      "an octal-looking trusted proxy",
      "http: { trustedProxies: [010.0.0.1] }\n",
      /http\.trustedProxies\[0\].*not an IPv4/,
    ],
    [
      "a short-form trusted proxy CIDR",
      'http: { trustedProxies: ["10.1/16"] }\n',
      /http\.trustedProxies\[0\]/,
    ],
    ["a trusted proxy CIDR with host bits", 'http: { trustedProxies: ["10.0.0.1/8"] }\n', /host bits set/],
    ["a YAML alias", "a: &x { port: 1 }\nlisten: *x\n", /alias/i],
  ];
  for (const [name, text, message] of bad) {
    it(`stops on ${name}, naming the file and the path`, () => {
      const { file } = configFile(text);
      assert.throws(
        () => loadConfig({ path: file, env: {} }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, message);
          assert.ok(e.message.includes(file), "names the file");
          return true;
        },
      );
    });
  }

  it("refuses an invalid PORT", () => {
    const { file } = configFile("issuer: https://b.example\n");
    assert.throws(() => loadConfig({ path: file, env: { PORT: "http" } }), /PORT/);
  });
});

describe("plain-http issuers (CONTRACT §4)", () => {
  const cases: Array<[string, string, RegExp | undefined]> = [
    [
      "an http issuer without allowInsecureHttp",
      "providers: [{ name: a, issuer: http://127.0.0.1:9000 }]\n",
      /providers\[0\]\.issuer: http:\/\/ needs allowInsecureHttp/,
    ],
    [
      "allowInsecureHttp for a non-loopback issuer",
      "providers: [{ name: a, issuer: http://idp.example, allowInsecureHttp: true }]\n",
      /providers\[0\]\.allowInsecureHttp: only for loopback/,
    ],
    [
      "an http jwksUri without the flag",
      "providers: [{ name: a, issuer: https://idp.example, jwksUri: http://idp.example/jwks }]\n",
      /providers\[0\]\.jwksUri/,
    ],
    [
      "a loopback test issuer with the flag",
      "providers: [{ name: a, issuer: http://127.0.0.1:9000, allowInsecureHttp: true }]\n",
      undefined,
    ],
    ["clock skew over 60 s", "limits: { clockSkew: 2m }\n", /limits\.clockSkew: at most 60s/],
    [
      "a fractional maxTtl",
      "limits: { maxTtl: 1500ms }\n",
      /limits\.maxTtl: must be a whole number of seconds/,
    ],
  ];
  for (const [name, text, message] of cases) {
    it(`${message ? "refuses" : "accepts"} ${name}`, () => {
      const { file } = configFile(text);
      if (message) assert.throws(() => loadConfig({ path: file, env: {} }), message);
      else assert.doesNotThrow(() => loadConfig({ path: file, env: {} }));
    });
  }
});
