import { TOKEN_TYPE } from "../../mint/types.ts";
import { parseDuration } from "../../util/duration.ts";
import { parseFlags } from "../shared.ts";
import { parseBrokerUrl } from "./broker-url.ts";
import { FORMATS, type Format, isFormat } from "./formats/format.ts";
import { K8S_TOKEN_FILE, type TokenSource } from "./token-sources/token-source.ts";
import { usageError } from "./usage.ts";

/** A checked `wif-broker exchange` command line. */
export interface ExchangeOptions {
  broker: URL;
  audience: string;
  scope: string | undefined;
  source: TokenSource;
  idTokenAudience: string | undefined;
  format: Format;
  requestedTokenType: string | undefined;
  timeoutMs: number;
  /** `--cache`: reuse the last answer for this request from a 0600 file until 5 minutes before it expires. */
  cache: boolean;
}

const FLAGS = {
  broker: { type: "string" },
  audience: { type: "string" },
  scope: { type: "string", multiple: true },
  "token-file": { type: "string" },
  "token-env": { type: "string" },
  "github-actions": { type: "boolean" },
  "gcp-metadata": { type: "boolean" },
  k8s: { type: "boolean" },
  "k8s-token-file": { type: "string" },
  "id-token-audience": { type: "string" },
  format: { type: "string", default: "json" },
  "requested-token-type": { type: "string" },
  timeout: { type: "string", default: "10s" },
  cache: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

/** The options, or "help" for `--help`; a usage error (exit 2) names the first flag that is wrong. */
export function parseExchangeOptions(argv: string[]): ExchangeOptions | "help" {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) return "help";
  if (!values.broker) throw usageError("--broker is required");
  if (!values.audience) throw usageError("--audience is required");
  const format = values.format;
  if (!isFormat(format)) throw usageError(`--format must be one of ${FORMATS.join(", ")}`);
  const timeout = parseDuration(values.timeout);
  if (timeout === undefined || timeout <= 0 || timeout > 600) {
    throw usageError("--timeout must be a duration like 10s, at most 10m");
  }
  const broker = parseBrokerUrl(values.broker);
  const source = tokenSource(values);
  const scopes = (values.scope ?? []).flatMap((s) => s.split(/\s+/)).filter(Boolean);
  return {
    broker,
    audience: values.audience,
    scope: scopes.length ? scopes.join(" ") : undefined,
    source,
    idTokenAudience: values["id-token-audience"],
    format,
    requestedTokenType: requestedTokenType(format, values["requested-token-type"]),
    timeoutMs: timeout * 1000,
    cache: values.cache === true,
  };
}

function tokenSource(values: Flags): TokenSource {
  const sources: TokenSource[] = [];
  if (values["token-file"] !== undefined) sources.push({ kind: "file", path: values["token-file"] });
  if (values["token-env"] !== undefined) sources.push({ kind: "env", name: values["token-env"] });
  if (values["github-actions"]) sources.push({ kind: "github-actions" });
  if (values["gcp-metadata"]) sources.push({ kind: "gcp-metadata" });
  if (values.k8s) sources.push({ kind: "k8s", path: values["k8s-token-file"] ?? K8S_TOKEN_FILE });
  const [source, ...extra] = sources;
  if (!source || extra.length > 0) {
    throw usageError(
      "name exactly one of --token-file, --token-env, --github-actions, --gcp-metadata, --k8s",
    );
  }
  if (values["k8s-token-file"] !== undefined && !values.k8s)
    throw usageError("--k8s-token-file goes with --k8s");
  return source;
}

/** credential-process asks for AWS credentials up front, so the broker refuses a non-AWS target before minting. */
/** The database formats ask for database credentials up front, for the same reason. */
function requestedTokenType(format: Format, requested: string | undefined): string | undefined {
  const needed =
    format === "credential-process"
      ? TOKEN_TYPE.awsCredentials
      : format === "pg-env" || format === "mysql-env" || format === "uri"
        ? TOKEN_TYPE.databaseCredentials
        : undefined;
  if (needed === undefined) return requested;
  if (requested !== undefined && requested !== needed) {
    throw usageError(`--format ${format} needs --requested-token-type ${needed}`);
  }
  return needed;
}
