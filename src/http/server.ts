import { type ServerType, serve } from "@hono/node-server";

export interface HttpTimeouts {
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** How often Node checks the two timeouts above (its default, 30 s, lets a slow client hold a socket that long). */
  connectionsCheckingIntervalMs?: number;
}

type FetchHandler = (req: Request, env: unknown) => Response | Promise<Response>;

/** Listens with HTTP hardening: slow clients cannot hold sockets; header size and counts are bounded. */
export function listen(
  fetch: FetchHandler,
  hostname: string,
  port: number,
  t: HttpTimeouts = {},
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        hostname,
        port,
        serverOptions: {
          maxHeaderSize: 16 * 1024,
          requestTimeout: t.requestTimeoutMs ?? 30_000,
          headersTimeout: t.headersTimeoutMs ?? 10_000,
          keepAliveTimeout: t.keepAliveTimeoutMs ?? 5_000,
          connectionsCheckingInterval: t.connectionsCheckingIntervalMs ?? 1_000,
        },
      },
      () => resolve(server),
    );
    server.on("error", reject);
    (server as unknown as { maxHeadersCount: number }).maxHeadersCount = 100;
  });
}

/** Requests in flight finish; each connection is closed as soon as it falls idle (keep-alive included). */
export function closeGracefully(server: ServerType): Promise<void> {
  return new Promise<void>((resolve) => {
    const idle = server as unknown as { closeIdleConnections(): void };
    const sweep = setInterval(() => idle.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    idle.closeIdleConnections();
  });
}
