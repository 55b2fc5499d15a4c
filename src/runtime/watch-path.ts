import { watch } from "node:fs";
import type { Logger } from "../observability/log.ts";

export interface PathWatch {
  close(): void;
}

/**
 * Calls `onChange` once a burst of file events under `path` has settled (an editor's save, a ConfigMap's symlink
 * swap). A path that cannot be watched is logged, and SIGHUP remains the way to reload it.
 */
export function watchPath(
  path: string,
  what: string,
  options: { recursive: boolean; debounceMs: number },
  onChange: () => void,
  logger: Logger,
): PathWatch {
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(path, { recursive: options.recursive, persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, options.debounceMs);
    });
    watcher.on("error", (e) => logger.warn({ err: e }, `${what} watch failed; reload with SIGHUP`));
    return {
      close() {
        clearTimeout(timer);
        watcher.close();
      },
    };
  } catch (e) {
    logger.warn({ err: e }, `cannot watch the ${what}; reload with SIGHUP`);
    return { close: () => undefined };
  }
}
