import { isLoopback } from "./exchange/broker-url.ts";
import { EXIT } from "./exchange/exit-codes.ts";
import { parseExchangeOptions } from "./exchange/options.ts";
import { exchangeToken } from "./exchange/token-exchange.ts";
import { USAGE } from "./exchange/usage.ts";
import type { Command } from "./shared.ts";

/**
 * `wif-broker exchange` (CONTRACT §6): fetch this workload's identity token from its platform, exchange it at the
 * broker (RFC 8693) and print the credential in the form the caller's tooling reads. The subject token and the
 * platform's request credentials are never printed, not even in an error. The parts live in ./exchange/.
 */

export { EXIT } from "./exchange/exit-codes.ts";
export { shellQuote } from "./exchange/formats/shell-quote.ts";
export { K8S_TOKEN_FILE } from "./exchange/token-sources/token-source.ts";

export const runExchange: Command = async (argv) => {
  const options = parseExchangeOptions(argv);
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (options.broker.protocol === "http:" && !isLoopback(options.broker.hostname)) {
    process.stderr.write(
      "wif-broker: exchange: warning: --broker is plain http to a non-loopback host; the identity token travels unencrypted\n",
    );
  }
  return exchangeToken(options, process.env);
};
