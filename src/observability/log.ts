import pino from "pino";
import { boundValue, hashJwts } from "../audit/bounded.ts";
import { safeError } from "./sanitize.ts";

/** Operational log values are bounded too (a stack trace stays readable). */
const MAX_LOG_FIELD_CHARS = 4096;

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
      // CONTRACT §7: a JWT-shaped value is logged as its SHA-256, in any line at any level; values are bounded.
      formatters: { log: (obj) => boundValue(obj, MAX_LOG_FIELD_CHARS) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const [obj, msg, ...rest] = args as unknown[];
          if (typeof msg === "string") return method.apply(this, [obj, hashJwts(msg), ...rest] as never);
          return method.apply(this, args);
        },
      },
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
    const bounded = boundValue(safe, MAX_LOG_FIELD_CHARS) as object;
    lines.push(JSON.stringify({ level, ...bounded, msg: msg === undefined ? undefined : hashJwts(msg) }));
  };
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** stderr written synchronously: lines appear in call order relative to other writes (`dev` prints a banner). */
export const syncStderr = (): pino.DestinationStream => pino.destination({ dest: 2, sync: true });
