import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../config/schema.ts";
import { jwkThumbprint } from "../mint/keys.ts";
import { generatePrivateKey } from "../runtime/signing-keys.ts";
import { parseDuration } from "../util/duration.ts";
import { CliError, parseFlags } from "./shared.ts";

const isAlg = (a: string): a is SigningAlgorithm => (SIGNING_ALGORITHMS as readonly string[]).includes(a);

/**
 * `keys generate` writes an active key; `keys rotate` writes the next key with `nbf` in the future, so it is
 * published in /jwks (and cached by relying parties) before it signs anything.
 */
export async function runKeys(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "generate" && sub !== "rotate")
    throw new CliError("usage: wif-broker keys generate|rotate --dir D [--alg ES256]");
  const { values } = parseFlags(rest, {
    dir: { type: "string" },
    alg: { type: "string", default: "ES256" },
    "activate-in": { type: "string", default: "1h" },
  });
  if (!values.dir) throw new CliError("--dir is required");
  if (!isAlg(values.alg)) throw new CliError(`--alg must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
  const delay = sub === "rotate" ? parseDuration(values["activate-in"]) : 0;
  if (delay === undefined) throw new CliError("--activate-in must be a duration like 1h");
  const key = generatePrivateKey(values.alg);
  const kid = jwkThumbprint(key);
  // Millisecond precision (NumericDate may be fractional): a key generated later always activates later.
  const nbf = Math.round(Date.now() + delay * 1000) / 1000;
  const jwk = {
    ...(key.export({ format: "jwk" }) as Record<string, string>),
    kid,
    alg: values.alg,
    use: "sig",
    nbf,
  };
  mkdirSync(values.dir, { recursive: true, mode: 0o700 });
  const file = join(
    values.dir,
    `${new Date(nbf * 1000).toISOString().replaceAll(":", "")}-${kid.slice(0, 8)}.jwk`,
  );
  writeFileSync(file, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  // The private key goes to the file only; stdout gets the file name, kid and activation time.
  process.stdout.write(
    `${JSON.stringify({ file, kid, alg: values.alg, activeFrom: new Date(nbf * 1000).toISOString() })}\n`,
  );
  return 0;
}
