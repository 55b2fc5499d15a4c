import { CliError } from "../../shared.ts";

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A clear local error instead of a broker round trip; the value itself is never quoted. */
export function compactJws(token: string, where: string, exitCode: number): string {
  if (!COMPACT_JWS.test(token))
    throw new CliError(`exchange: ${where} does not hold a JWT (compact JWS)`, exitCode);
  return token;
}
