import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { TOKEN_TYPE } from "../../mint/types.ts";
import { awsDocument } from "./formats/aws-document.ts";
import { isRecord } from "./is-record.ts";
import type { ExchangeOptions } from "./options.ts";

/**
 * `exchange --cache`: the broker's last answer for the same request, kept in a 0600 file under
 * `$XDG_CACHE_HOME/wif-broker` (default `~/.cache/wif-broker`, a 0700 directory), reused until five minutes
 * before the credential expires. An AWS `credential_process` runs once per CLI invocation, so without it every
 * `aws …` command would be one exchange. The file name is a hash over everything that makes two answers
 * interchangeable: broker, audience, scope, token source, requested token type and ID token audience.
 * A file that is not a regular file of this user with mode 0600, in a directory only this user can enter,
 * is never read.
 */

/** A cached answer is used only while it has more than this left. */
export const CACHE_REUSE_MARGIN_MS = 5 * 60_000;

export interface ResponseCache {
  /** The cached broker answer (the JSON body) when still good at `now`, else undefined. */
  read(now: number): unknown;
  /** Keeps `body`, which expires at `expiresAt` (epoch ms); a failure to write is not an error. */
  write(body: unknown, expiresAt: number): void;
  readonly file: string;
}

export function cacheDirectory(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  return join(base, "wif-broker");
}

export function responseCache(o: ExchangeOptions, env: NodeJS.ProcessEnv): ResponseCache {
  const dir = cacheDirectory(env);
  const key = createHash("sha256")
    .update(
      JSON.stringify([
        "exchange/v1",
        o.broker.href,
        o.audience,
        o.scope ?? null,
        o.source,
        o.requestedTokenType ?? null,
        o.idTokenAudience ?? null,
      ]),
    )
    .digest("base64url");
  const file = join(dir, `${key}.json`);
  return {
    file,
    read(now) {
      if (!privateDirectory(dir)) return undefined;
      const entry = readPrivateFile(file);
      if (!isRecord(entry) || entry.key !== key || typeof entry.expiresAt !== "number") return undefined;
      if (now >= entry.expiresAt - CACHE_REUSE_MARGIN_MS || !isRecord(entry.body)) return undefined;
      // expires_in counts from now, not from when the answer was fetched (kubectl and WIF_EXPIRES_AT read it).
      return { ...entry.body, expires_in: Math.floor((entry.expiresAt - now) / 1000) };
    },
    write(body, expiresAt) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!privateDirectory(dir)) return;
        const tmp = join(dir, `.${key}.${randomBytes(6).toString("hex")}.tmp`);
        const fd = openSync(tmp, "wx", 0o600);
        try {
          writeSync(fd, JSON.stringify({ key, expiresAt, body }));
        } finally {
          closeSync(fd);
        }
        try {
          renameSync(tmp, file);
        } catch {
          unlinkSync(tmp);
        }
      } catch {
        // A read-only home or a full disk costs one more exchange next time, nothing else.
      }
    },
  };
}

/** When the credential in a successful answer expires (epoch ms): AWS `Expiration`, else `expires_in`. */
export function answerExpiresAt(body: unknown, fetchedAt: number): number | undefined {
  if (!isRecord(body)) return undefined;
  if (body.issued_token_type === TOKEN_TYPE.awsCredentials && typeof body.access_token === "string") {
    const expiration = awsDocument(body.access_token).Expiration;
    const at = expiration === undefined ? Number.NaN : Date.parse(expiration);
    if (Number.isFinite(at)) return at;
  }
  return typeof body.expires_in === "number" && body.expires_in > 0
    ? fetchedAt + body.expires_in * 1000
    : undefined;
}

const ownedByMe = (uid: number) => typeof process.geteuid !== "function" || uid === process.geteuid();

function privateDirectory(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && ownedByMe(st.uid) && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

function readPrivateFile(file: string): unknown {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted in place of the file is not followed.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedByMe(st.uid) || (st.mode & 0o077) !== 0 || st.size > 1024 * 1024)
      return undefined;
    return JSON.parse(readFileSync(fd, "utf8")) as unknown;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
