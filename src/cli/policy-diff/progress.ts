import type { LineProgress } from "./audit-lines.ts";

const mib = (n: number) => (n / (1024 * 1024)).toFixed(1);

/**
 * A progress line on stderr when it is a terminal (never on stdout, which carries the result, and never in CI
 * logs): lines read and the share of the input, redrawn at most four times a second.
 */
export function startProgress(stream: NodeJS.WriteStream, progress: LineProgress): () => void {
  if (!stream.isTTY) return () => {};
  const draw = () => {
    const pct = progress.bytesTotal > 0 ? Math.floor((progress.bytesRead / progress.bytesTotal) * 100) : 100;
    stream.write(
      `\r\x1b[2Kreplaying: ${progress.lines} lines, ${mib(progress.bytesRead)} of ${mib(progress.bytesTotal)} MiB (${pct}%)`,
    );
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write("\r\x1b[2K");
  };
}
