/** The broker as the benchmark and the soak drive it: the real startBroker, audit to /dev/null, Redis optional. */
import { createWriteStream } from "node:fs";
import { streamAuditSink } from "../src/audit/event.ts";
import { parseConfig } from "../src/config/load.ts";
import { startBroker } from "../src/main.ts";
import { createLogger } from "../src/observability/log.ts";

/** Optional 5th argument: the `signing` config as JSON (the signing benchmark: key file, direct or certified KMS). */
const [issuer, policies, port, redis, signing] = process.argv.slice(2);
const config = parseConfig(
  {
    issuer: "https://broker.example.com",
    listen: { host: "127.0.0.1", port: Number(port ?? 0) },
    policies,
    providers: [{ name: "github", issuer, allowInsecureHttp: true }],
    ...(redis ? { store: { redis } } : {}),
    ...(signing ? { signing: JSON.parse(signing) } : {}),
  },
  "(bench)",
  process.cwd(),
);
const broker = await startBroker(config, {
  logger: createLogger("warn"),
  audit: streamAuditSink(createWriteStream("/dev/null")),
  watchPolicies: false,
});
process.stderr.write(`ready ${broker.port}\n`);
// A clean exit on SIGTERM, so `--cpu-prof` (bench/profile.ts) writes its profile.
process.once("SIGTERM", () => process.exit(0));
