import { TOKEN_TYPE } from "../../../mint/types.ts";
import { CliError } from "../../shared.ts";
import { sanitize } from "../broker-response.ts";
import { EXIT } from "../exit-codes.ts";
import { isRecord } from "../is-record.ts";
import { shellQuote } from "./shell-quote.ts";

/** The database credentials document the broker put in access_token (CONTRACT §3). */
export interface DatabaseDocument {
  Version: 1;
  Engine: "postgres" | "mysql";
  Host: string;
  Port: number;
  Database: string;
  Username: string;
  Password: string;
  Expiration: string;
}

export function databaseDocument(issuedTokenType: string, text: string): DatabaseDocument {
  if (issuedTokenType !== TOKEN_TYPE.databaseCredentials) {
    throw new CliError(
      `exchange: this format needs database credentials; the broker issued ${sanitize(issuedTokenType, [])}`,
      EXIT.refused,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (
    !isRecord(doc) ||
    doc.Version !== 1 ||
    (doc.Engine !== "postgres" && doc.Engine !== "mysql") ||
    !["Host", "Database", "Username", "Password", "Expiration"].every((k) => typeof doc[k] === "string") ||
    !Number.isInteger(doc.Port)
  ) {
    throw new CliError(
      "exchange: the broker's database credentials are not a credentials document",
      EXIT.refused,
    );
  }
  return doc as unknown as DatabaseDocument;
}

/**
 * CONTRACT §6 `--format pg-env` / `mysql-env`: only POSIX-sh `export NAME='…'` lines, the variables libpq
 * (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) and the mysql client (MYSQL_HOST, MYSQL_TCP_PORT,
 * MYSQL_DATABASE, MYSQL_USER, MYSQL_PWD) read.
 */
export function databaseEnvLines(format: DatabaseEnvFormat, d: DatabaseDocument): string {
  return databaseEnvVariables(format, d)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

export type DatabaseEnvFormat = "pg-env" | "mysql-env";

/** The variables of `pg-env` / `mysql-env`, for the shell lines above and the GitHub Action's exportVariable. */
export function databaseEnvVariables(
  format: DatabaseEnvFormat,
  d: DatabaseDocument,
): Array<[string, string]> {
  const engine = format === "pg-env" ? "postgres" : "mysql";
  if (d.Engine !== engine) {
    throw new CliError(
      `exchange: --format ${format} needs ${engine} credentials; the broker issued ${d.Engine}`,
      EXIT.refused,
    );
  }
  const vars: Array<[string, string]> =
    format === "pg-env"
      ? [
          ["PGHOST", d.Host],
          ["PGPORT", String(d.Port)],
          ["PGDATABASE", d.Database],
          ["PGUSER", d.Username],
          ["PGPASSWORD", d.Password],
        ]
      : [
          ["MYSQL_HOST", d.Host],
          ["MYSQL_TCP_PORT", String(d.Port)],
          ["MYSQL_DATABASE", d.Database],
          ["MYSQL_USER", d.Username],
          ["MYSQL_PWD", d.Password],
        ];
  return vars;
}

/** CONTRACT §6 `--format uri`: one percent-encoded `postgres://user:pass@host:port/db` (or `mysql://…`) line. */
export function databaseUri(d: DatabaseDocument): string {
  const host = d.Host.includes(":") ? `[${d.Host}]` : d.Host;
  const enc = encodeURIComponent;
  return `${d.Engine}://${enc(d.Username)}:${enc(d.Password)}@${host}:${d.Port}/${enc(d.Database)}\n`;
}
