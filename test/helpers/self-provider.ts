import { BROKER_ISSUER, type TestBroker } from "./broker.ts";

/**
 * The broker as a provider of its own tokens (a broker JWT presented back to /token): `provider` goes into the
 * config, `fetchImpl` into the broker options, and `attach` once the broker exists — its JWKS is then served by the
 * app itself, without a socket.
 */
export function brokerAsProvider(audiences: string[]) {
  let app: TestBroker["broker"]["app"] | undefined;
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.startsWith(BROKER_ISSUER) && app) return app.request(url.slice(BROKER_ISSUER.length), init);
    return fetch(input, init);
  };
  return {
    provider: { name: "broker", issuer: BROKER_ISSUER, jwksUri: `${BROKER_ISSUER}/jwks`, audiences },
    fetchImpl,
    attach(broker: TestBroker): TestBroker {
      app = broker.broker.app;
      return broker;
    },
  };
}
