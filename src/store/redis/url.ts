/**
 * Store URLs (credentials percent-encoded; `rediss…` = TLS):
 *   redis://[[user]:password@]host[:6379][/db]
 *   redis+sentinel://[[user]:password@]host[:26379][,host[:26379]…]/masterName[/db][?sentinelUsername=…&sentinelPassword=…]
 *   redis+cluster://[[user]:password@]host[:6379][,host[:6379]…]
 * The user/password authenticate to the data nodes (the master, the cluster nodes); sentinels take their own
 * from the query, none by default. Nothing of the URL but hosts, ports, db and master name is ever shown.
 */

export interface HostPort {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget = Credentials & { tls: boolean } & (
    | { mode: "standalone"; host: string; port: number; db: number }
    | {
        mode: "sentinel";
        sentinels: HostPort[];
        name: string;
        db: number;
        sentinelUsername?: string;
        sentinelPassword?: string;
      }
    | { mode: "cluster"; nodes: HostPort[] }
  );

const SCHEMES: Record<string, { mode: RedisTarget["mode"]; tls: boolean; port: number }> = {
  redis: { mode: "standalone", tls: false, port: 6379 },
  rediss: { mode: "standalone", tls: true, port: 6379 },
  "redis+sentinel": { mode: "sentinel", tls: false, port: 26379 },
  "rediss+sentinel": { mode: "sentinel", tls: true, port: 26379 },
  "redis+cluster": { mode: "cluster", tls: false, port: 6379 },
  "rediss+cluster": { mode: "cluster", tls: true, port: 6379 },
};

/** Parses a store URL. Errors are TypeErrors that name the problem, never the URL (it may hold a password). */
export function parseRedisUrl(url: string): RedisTarget {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i.exec(url);
  if (m === null) throw new TypeError("store.redis: not a URL (expected redis://host:port/db)");
  const [, rawScheme = "", authority = "", path = "", query = "", fragment] = m;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (scheme === undefined) {
    throw new TypeError(
      `store.redis: unsupported scheme (expected one of ${Object.keys(SCHEMES)
        .map((s) => `${s}://`)
        .join(", ")})`,
    );
  }
  if (fragment !== undefined) throw new TypeError("store.redis: '#' must be percent-encoded (%23)");
  const at = authority.lastIndexOf("@");
  const creds = at === -1 ? {} : parseUserinfo(authority.slice(0, at));
  const hosts = authority
    .slice(at + 1)
    .split(",")
    .map((h) => parseHostPort(h, scheme.port));
  const params = new URLSearchParams(query);
  const segments = path.split("/").slice(1);
  const base = { ...creds, tls: scheme.tls };
  switch (scheme.mode) {
    case "standalone": {
      onlyParams(params, []);
      const [host] = hosts;
      if (host === undefined || hosts.length !== 1) {
        throw new TypeError(
          "store.redis: one host expected (use redis+sentinel:// or redis+cluster:// for more)",
        );
      }
      if (segments.length > 1) throw new TypeError("store.redis: path must be /db");
      return { ...base, mode: "standalone", ...host, db: parseDb(segments[0]) };
    }
    case "sentinel": {
      onlyParams(params, ["sentinelUsername", "sentinelPassword"]);
      const [name, db, ...rest] = segments.map(decode);
      if (name === undefined || name === "" || rest.length > 0) {
        throw new TypeError("store.redis: sentinel URL path must be /masterName or /masterName/db");
      }
      const sentinelUsername = params.get("sentinelUsername");
      const sentinelPassword = params.get("sentinelPassword");
      return {
        ...base,
        mode: "sentinel",
        sentinels: hosts,
        name,
        db: parseDb(db),
        ...(sentinelUsername === null ? {} : { sentinelUsername }),
        ...(sentinelPassword === null ? {} : { sentinelPassword }),
      };
    }
    case "cluster": {
      onlyParams(params, []);
      if (parseDb(segments.length > 1 ? "x" : segments[0]) !== 0) {
        throw new TypeError("store.redis: Redis Cluster has only db 0");
      }
      return { ...base, mode: "cluster", nodes: hosts };
    }
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TypeError("store.redis: malformed percent-encoding");
  }
}

function parseUserinfo(userinfo: string): Credentials {
  const colon = userinfo.indexOf(":");
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? "" : decode(userinfo.slice(colon + 1));
  return { ...(username === "" ? {} : { username }), ...(password === "" ? {} : { password }) };
}

function parseHostPort(s: string, defaultPort: number): HostPort {
  const m = /^(\[[0-9a-f:.]+\]|[^[\]:]+)(?::(\d{1,5}))?$/i.exec(s);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (m?.[1] === undefined || port < 1 || port > 65535) {
    throw new TypeError("store.redis: each host must be host[:port] or [ipv6][:port]");
  }
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : decode(m[1]);
  return { host, port };
}

function parseDb(segment: string | undefined): number {
  if (segment === undefined || segment === "") return 0;
  if (!/^\d{1,5}$/.test(segment)) throw new TypeError("store.redis: db must be a number");
  return Number(segment);
}

function onlyParams(params: URLSearchParams, allowed: string[]): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      throw new TypeError(
        `store.redis: unknown query parameter${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`,
      );
    }
  }
}

/** The target as logs and /readyz show it: hosts, ports, db and master name only. */
export function describe(target: RedisTarget): string {
  const hp = (h: HostPort): string =>
    h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
  const tls = target.tls ? " (tls)" : "";
  switch (target.mode) {
    case "standalone":
      return `redis ${hp(target)}/${target.db}${tls}`;
    case "sentinel":
      return `redis sentinel ${target.name}/${target.db} via ${target.sentinels.map(hp).join(",")}${tls}`;
    case "cluster":
      return `redis cluster ${target.nodes.map(hp).join(",")}${tls}`;
  }
}
