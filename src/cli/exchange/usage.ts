import { CliError } from "../shared.ts";
import { EXIT } from "./exit-codes.ts";
import { K8S_TOKEN_FILE } from "./token-sources/token-source.ts";

export const USAGE = `Usage: wif-broker exchange --broker URL --audience A [--scope S]...
      (--token-file F | --token-env VAR | --github-actions | --gcp-metadata | --k8s [--k8s-token-file F])
      [--id-token-audience AUD] [--format json|token|env|credential-process|kubectl|pg-env|mysql-env|uri]
      [--requested-token-type T] [--timeout 10s] [--cache]

Identity token (exactly one source):
  --token-file F        a file holding the token (read on every run; surrounding whitespace is ignored)
  --token-env VAR       an environment variable holding the token
  --github-actions      GitHub Actions OIDC (the job needs "permissions: id-token: write")
  --gcp-metadata        the GCE/GKE/Cloud Run metadata server (GCE_METADATA_HOST overrides its host)
  --k8s                 a projected service-account token, default ${K8S_TOKEN_FILE}
  GitHub Actions and metadata-server tokens are requested for --id-token-audience, by default the broker's
  issuer as its /.well-known/oauth-authorization-server states it.

Output (--format, default json):
  json                  the broker's token response
  token                 the access_token only
  env                   shell export lines: AWS_ACCESS_KEY_ID… for AWS credentials, else WIF_ACCESS_TOKEN…
  credential-process    the AWS CLI/SDK credential_process document (AWS targets only)
  kubectl               a client.authentication.k8s.io/v1 ExecCredential, for a kubeconfig exec entry
  pg-env                export PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD (postgres targets only)
  mysql-env             export MYSQL_HOST MYSQL_TCP_PORT MYSQL_DATABASE MYSQL_USER MYSQL_PWD (mysql targets)
  uri                   one percent-encoded postgres://user:pass@host:port/db (or mysql://…) line

Cache (--cache): the broker's answer is kept in a 0600 file under $XDG_CACHE_HOME/wif-broker (default
  ~/.cache/wif-broker), one per broker, audience, scope and token source, and reused until 5 minutes before the
  credential expires: an AWS credential_process or a kubectl exec plugin then costs one exchange per lifetime.

Exit codes: 0 issued; 1 refused (by the broker or the token source); 2 usage or local set-up error;
  3 unavailable (unreachable, timed out, HTTP 429 or 5xx): retry later.`;

/** A usage error (exit 2) that reprints the usage. */
export const usageError = (message: string) => new CliError(`exchange: ${message}\n\n${USAGE}`, EXIT.usage);
