import pino from "pino";
import { safeError } from "./sanitize.ts";

/** Operational log (stderr). Audit lines are separate (stdout). Neither ever carries a token, credential or key. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Defence in depth: should a token-bearing field ever reach a log call, pino replaces it. The primary rule is that
 * callers log reasons, hashes and ids only.
 */
const REDACT = [
  "subject_token",
  "assertion",
  "client_assertion",
  "access_token",
  "token",
  "authorization",
  "*.subject_token",
  "*.assertion",
  "*.client_assertion",
  "*.access_token",
  "*.token",
  "*.authorization",
  "*.SecretAccessKey",
  "*.SessionToken",
  "*.privateKey",
];

export function createLogger(
  level = process.env.LOG_LEVEL ?? "info",
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level,
      base: { service: "wif-broker" },
      redact: { paths: REDACT, censor: "[redacted]" },
      serializers: { err: safeError },
    },
    destination,
  );
}

/** For tests and tools that want to see exactly what would have been logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    const err = (obj as { err?: unknown }).err;
    const safe = err === undefined ? obj : { ...obj, err: safeError(err) };
    lines.push(JSON.stringify({ level, ...safe, msg }));
  };
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
