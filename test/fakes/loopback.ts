import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the loopback fakes share: a server on 127.0.0.1, whole request bodies, JSON answers, a request log. */

/** Listens on an ephemeral port of 127.0.0.1; resolves to that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes `server`, dropping kept-alive connections so that closing does not wait for clients. */
export const closeServer = (server: Server): Promise<void> =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** A request listener that reads the whole body first, then hands it to `handle` as UTF-8 text. */
export const withBody =
  (handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  };

/** Answers `res` with a JSON body. */
export const jsonResponder =
  (res: ServerResponse, contentType = "application/json") =>
  (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "content-type": contentType, ...headers });
    res.end(JSON.stringify(body));
  };

/** The requests a fake saw, what it issued, and the failures queued for the next requests. */
export interface FakeLog<Request, Issued, Failure> {
  requests: Request[];
  issued: Issued[];
  failures: Failure[];
  /** Queue failures: each one answers one request, in order; then requests succeed again. */
  fail(...failures: Failure[]): void;
  /** Forgets recorded requests, issued credentials and queued failures. */
  reset(): void;
}

/** What a started fake offers a test: its log (without the queue itself) and a way to stop it. */
export type RecordingFake<Request, Issued, Failure> = Omit<FakeLog<Request, Issued, Failure>, "failures"> & {
  close(): Promise<void>;
};

export function fakeLog<Request, Issued, Failure>(): FakeLog<Request, Issued, Failure> {
  const requests: Request[] = [];
  const issued: Issued[] = [];
  const failures: Failure[] = [];
  return {
    requests,
    issued,
    failures,
    fail: (...f) => {
      failures.push(...f);
    },
    reset: () => {
      requests.length = 0;
      issued.length = 0;
      failures.length = 0;
    },
  };
}
