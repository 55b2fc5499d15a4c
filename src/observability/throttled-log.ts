import type { Clock } from "../util/clock.ts";
import type { Logger } from "./log.ts";

/**
 * A warning that may repeat at request rate during an outage: logged at most once per `intervalMs`, with the
 * count of the ones suppressed since the last line (metrics still count every occurrence).
 */
export function throttledWarn(logger: Logger, clock: Clock, message: string, intervalMs = 10_000) {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields: Record<string, unknown>) => {
    if (clock() - last < intervalMs) {
      suppressed++;
      return;
    }
    logger.warn({ ...fields, suppressed }, message);
    last = clock();
    suppressed = 0;
  };
}
