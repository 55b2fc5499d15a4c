/**
 * The small grammar a MySQL/MariaDB target's `grants` entries must follow (CONTRACT §8). A grant is parsed into a
 * value here, at policy load, and the minter renders SQL from that value only: no text of a policy (and nothing of
 * a request) is ever pasted into a statement. Pure: no driver, no I/O.
 *
 *   grant      = privilege *( "," privilege ) "ON" object
 *   object     = name "." ( name / "*" )
 *   name       = 1*64( ALPHA / DIGIT / "_" / "$" ), optionally in backticks
 *
 * Global grants (`*.*`), the server's own schemas and administrative privileges (ALL, GRANT OPTION, FILE,
 * SUPER, PROCESS, CREATE USER, …) are outside the grammar: a lease login only ever reaches application data.
 */

/** Object-level privileges a lease may hold (MySQL 8 §15.7.1.6 "Privileges Supported by MySQL"). */
export const MYSQL_PRIVILEGES = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "EXECUTE",
  "SHOW VIEW",
  "CREATE TEMPORARY TABLES",
  "LOCK TABLES",
  "CREATE",
  "DROP",
  "ALTER",
  "INDEX",
  "REFERENCES",
  "TRIGGER",
  "CREATE VIEW",
  "CREATE ROUTINE",
  "ALTER ROUTINE",
  "EVENT",
] as const;
export type MysqlPrivilege = (typeof MYSQL_PRIVILEGES)[number];

/** Schemas a lease never gets privileges on: they hold accounts, password hashes and server state. */
const SYSTEM_SCHEMAS = new Set(["mysql", "information_schema", "performance_schema", "sys"]);

export interface MysqlGrant {
  privileges: MysqlPrivilege[];
  database: string;
  /** A table name, or undefined for every table of `database` (`db.*`). */
  table: string | undefined;
}

const NAME = /^[A-Za-z0-9_$]{1,64}$/;

/** Parses one `grants` entry; throws an Error naming the rule broken (never echoing more than the entry). */
export function parseMysqlGrant(text: string): MysqlGrant {
  const m = /^\s*(.+?)\s+ON\s+(\S+)\s*$/is.exec(text);
  if (!m) throw new Error('a grant reads "PRIVILEGE[, PRIVILEGE…] ON database.table" (or database.*)');
  const [, privilegeText = "", objectText = ""] = m;
  const privileges: MysqlPrivilege[] = [];
  for (const raw of privilegeText.split(",")) {
    const p = raw.trim().replace(/\s+/g, " ").toUpperCase();
    if (!(MYSQL_PRIVILEGES as readonly string[]).includes(p))
      throw new Error(`privilege must be one of ${MYSQL_PRIVILEGES.join(", ")}`);
    if (!privileges.includes(p as MysqlPrivilege)) privileges.push(p as MysqlPrivilege);
  }
  const parts = splitObject(objectText);
  if (!parts) throw new Error("the object must be database.table or database.* (names: A-Z a-z 0-9 _ $)");
  const [database, table] = parts;
  if (database === "*") throw new Error("global grants (*.*) are not allowed");
  if (SYSTEM_SCHEMAS.has(database.toLowerCase()))
    throw new Error(`grants on the ${database.toLowerCase()} schema are not allowed`);
  return { privileges, database, table: table === "*" ? undefined : table };
}

function splitObject(text: string): [string, string] | undefined {
  const m = /^(`[^`]*`|[^.`]+)\.(`[^`]*`|[^.`]+)$/.exec(text);
  if (!m) return undefined;
  const unquote = (s: string) => (s.startsWith("`") ? s.slice(1, -1) : s);
  const database = unquote(m[1] ?? "");
  const table = unquote(m[2] ?? "");
  if (database !== "*" && !NAME.test(database)) return undefined;
  if (table !== "*" && !NAME.test(table)) return undefined;
  if (database === "*" && table !== "*") return undefined;
  return [database, table];
}

/**
 * `ON` clause of a GRANT/REVOKE. At database level `_` and `%` are wildcards in MySQL and MariaDB ("The _ and %
 * wildcards are permitted when specifying database names in GRANT statements … at the database level"): they are
 * escaped so that `shop_db.*` means that one database, not `shop?db`.
 */
export function renderGrantObject(g: MysqlGrant): string {
  if (g.table === undefined) return `\`${g.database.replace(/[_%]/g, "\\$&")}\`.*`;
  return `\`${g.database}\`.\`${g.table}\``;
}
