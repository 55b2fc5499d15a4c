import { generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSignature } from "../jose/jwa.ts";
import { jwkThumbprint } from "../mint/keys.ts";

interface IssuerKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  jwk: Record<string, string>;
}

export interface MintOptions {
  /** Override or add header members (tests of hostile headers). */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's current one. */
  key?: { privateKey: KeyObject; alg: string; kid?: string };
  /** Seconds until expiry (default 300). */
  ttl?: number;
}

/**
 * A loopback OIDC issuer with its own keys: discovery, JWKS, and a mint function. `wif-broker dev` runs it as the
 * demo identity platform; the tests use it as the fake IdP (with rotation, outages and request counting).
 */
export class DemoIssuer {
  readonly #server: Server;
  #keys: IssuerKey[] = [];
  #down = false;
  #url = "";
  /** Requests received, by path: lets tests prove that no outbound request happened. */
  readonly requests: string[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(host = "127.0.0.1"): Promise<DemoIssuer> {
    const server = createServer();
    const issuer = new DemoIssuer(server);
    issuer.rotate();
    server.on("request", (req, res) => {
      issuer.requests.push(req.url ?? "");
      if (issuer.#down) {
        res.writeHead(503).end();
        return;
      }
      const send = (body: unknown) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      if (req.url === "/.well-known/openid-configuration") {
        send({
          issuer: issuer.url,
          jwks_uri: `${issuer.url}/jwks`,
          id_token_signing_alg_values_supported: ["RS256"],
        });
      } else if (req.url === "/jwks") {
        send({ keys: issuer.#keys.map((k) => ({ ...k.jwk, kid: k.kid, alg: k.alg, use: "sig" })) });
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const { port } = server.address() as AddressInfo;
    issuer.#url = `http://${host}:${port}`;
    return issuer;
  }

  get url(): string {
    return this.#url;
  }

  /** The current signing key (the newest). */
  get currentKey(): IssuerKey {
    return this.#keys.at(-1) as IssuerKey;
  }

  /** Adds a new key and signs with it from now on; `dropOld` removes the previous ones from the JWKS. */
  rotate(dropOld = false, alg: "RS256" | "ES256" | "EdDSA" = "RS256"): string {
    const { privateKey, publicKey } =
      alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : alg === "EdDSA"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
    const kid = jwkThumbprint(privateKey);
    const jwk = publicKey.export({ format: "jwk" }) as Record<string, string>;
    this.#keys = [...(dropOld ? [] : this.#keys), { kid, alg, privateKey, jwk }];
    return kid;
  }

  setDown(down: boolean): void {
    this.#down = down;
  }

  /** Signs `claims` (iss, iat, nbf, exp and jti filled in unless given) as a compact JWS. */
  mint(claims: Record<string, unknown>, options: MintOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const key = options.key ?? this.currentKey;
    const header = { alg: key.alg, typ: "JWT", ...(key.kid ? { kid: key.kid } : {}), ...options.header };
    const payload = {
      iss: this.url,
      iat: now,
      nbf: now,
      exp: now + (options.ttl ?? 300),
      jti: randomUUID(),
      ...claims,
    };
    const input = `${b64(header)}.${b64(payload)}`;
    // The signature always uses the key's real algorithm; a test may still lie about `alg` in the header.
    const signature = createSignature(key.alg, key.privateKey, Buffer.from(input));
    return `${input}.${signature.toString("base64url")}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
