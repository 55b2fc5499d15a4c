/**
 * A private redis-server on a free loopback port, for tests that need a real Redis they may kill, pause and
 * restart. No persistence, its own temp dir, SIGKILLed when the test process exits. If redis-server cannot run
 * (not installed, won't start), `startRedisServer` rejects: tests that need Redis fail, they never skip.
 */
import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServerOptions {
  /** Default: a free port picked by the OS. */
  port?: number;
  /** Sets `requirepass`; `url` then carries it. */
  password?: string;
  /** Extra redis-server arguments, e.g. ["--cluster-enabled", "yes"]. */
  args?: string[];
  /** Run as a Sentinel (`redis-server <conf> --sentinel`) with these config lines, e.g. `sentinel monitor …`. */
  sentinelConfig?: string[];
  /** Binary to run. Default `redis-server` from PATH. */
  binary?: string;
}

export interface RedisServer {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** `redis://[:password@]127.0.0.1:<port>` */
  readonly url: string;
  readonly running: boolean;
  /** SIGKILL and wait for the exit: an abrupt outage. */
  kill(): Promise<void>;
  /** Start again on the same port with the same options (after `kill`). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung or partitioned server). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Kill and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  // A port picked by freePort can be taken before redis binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch(port, opts);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function launch(port: number, opts: RedisServerOptions): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "wif-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    ...(opts.password === undefined ? [] : ["--requirepass", opts.password]),
    ...(opts.args ?? []),
  ];
  if (opts.sentinelConfig !== undefined) {
    // Sentinel rewrites its config file, so it needs one of its own.
    const conf = join(dir, "sentinel.conf");
    writeFileSync(conf, `${opts.sentinelConfig.join("\n")}\n`);
    args.unshift(conf, "--sentinel");
  }
  let child: ChildProcess | undefined;
  let output = "";

  const start = async (): Promise<void> => {
    output = "";
    const proc = spawn(opts.binary ?? "redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    const failed = new Promise<never>((_, reject) => {
      proc.once("error", (err) => reject(new Error(`redis-server could not run: ${err.message}`)));
      proc.once("exit", (code, signal) =>
        reject(new Error(`redis-server exited (${code ?? signal}) on port ${port}:\n${output}`)),
      );
    });
    failed.catch(() => {});
    try {
      await Promise.race([waitForPing(port, 10_000), failed]);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
    await exited;
  };

  try {
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const auth = opts.password === undefined ? "" : `:${encodeURIComponent(opts.password)}@`;
  return {
    host: "127.0.0.1",
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill,
    async restart() {
      await kill();
      await start();
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once something on `port` answers a RESP PING (PONG, or NOAUTH from a password-protected server). */
async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

export interface RedisCluster {
  /** The masters, in the order given to `redis-cli --cluster create`. */
  servers: RedisServer[];
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…` */
  url: string;
  /** Resolves once CLUSTER INFO on every running node says `cluster_state:ok`. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `masters` cluster-enabled redis-servers joined by `redis-cli --cluster create` (no replicas). */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const waitHealthy = async (timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(
        servers.filter((s) => s.running).map((s) => redisCli(["-p", String(s.port), "CLUSTER", "INFO"])),
      );
      if (infos.every((info) => info.includes("cluster_state:ok"))) return;
      if (Date.now() > deadline)
        throw new Error(`cluster not healthy within ${timeoutMs} ms:\n${infos.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({ args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"] }),
      );
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await redisCli(["--cluster", "create", ...nodes, "--cluster-yes"]);
    await waitHealthy();
    return { servers, url: `redis+cluster://${nodes.join(",")}`, waitHealthy, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
