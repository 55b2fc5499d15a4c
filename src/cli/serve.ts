import { loadConfig } from "../config/load.ts";
import { startBroker } from "../main.ts";
import { createLogger, syncStderr } from "../observability/log.ts";
import { parseFlags } from "./shared.ts";

/** Grace period for in-flight requests after SIGTERM (Kubernetes default terminationGracePeriodSeconds is 30). */
export const SHUTDOWN_GRACE_MS = 25_000;

export async function runServe(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { config: { type: "string", short: "c" } });
  // Synchronous: a start-up failure's one line comes last, after what was logged before it. Operational logs are
  // low-volume (audit events go to stdout through their own sink).
  const logger = createLogger(undefined, syncStderr());
  const { config, source } = loadConfig({ path: values.config, env: process.env });
  logger.info({ config: source }, "configuration loaded");
  const broker = await startBroker(config, {
    logger,
    shutdownDelayMs: Number(process.env.WIF_BROKER_SHUTDOWN_DELAY_MS ?? 2000),
  });
  process.on("SIGHUP", () => {
    logger.info({}, "SIGHUP: reloading policies and signing keys");
    broker.reload();
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: readiness off, draining in-flight requests");
    const force = setTimeout(() => {
      logger.warn({}, "grace period over: exiting with requests in flight");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return -1;
}
