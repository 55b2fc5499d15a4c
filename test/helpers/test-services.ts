/**
 * Where the tests find the shared services. `scripts/test.sh` (the one test command) starts what is missing and
 * exports these; the defaults are the machine's standard loopback ports, so `npm test` alone works where the
 * services already run. Tests that need a service fail when it is not there, they never skip.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const env = process.env;

/** A Redis the tests may share (tests that kill or restart one start their own: redis-server.ts). */
export const testRedisUrl: string = env.WIF_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** PostgreSQL superuser `postgres`, trust authentication. */
export const testPostgresUrl: string = env.WIF_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** MariaDB/MySQL `root` without a password. */
export const testMysqlUrl: string = env.WIF_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/mysql";

/** The Chromium binary for browser tests: WIF_TEST_CHROMIUM, else `chromium` on PATH. */
export function testChromiumPath(): string {
  if (env.WIF_TEST_CHROMIUM !== undefined && env.WIF_TEST_CHROMIUM !== "") return env.WIF_TEST_CHROMIUM;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  throw new Error("Chromium not found: install it (scripts/test.sh does) or set WIF_TEST_CHROMIUM");
}
