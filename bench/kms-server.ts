/** A loopback AWS KMS (test/fakes/aws-kms-server.ts) with injected latency, in its own process for the signing bench. */
import { startFakeAwsKms } from "../test/fakes/aws-kms-server.ts";

const latencyMs = Number(process.argv[2] ?? 15);
const kms = await startFakeAwsKms({ latencyMs });
const arn = kms.createKey("ECC_NIST_P256");
process.stderr.write(`ready ${kms.endpoint} ${arn}\n`);
