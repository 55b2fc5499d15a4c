import { createReadStream, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";

/** A line longer than this is no audit line (those stay under 16 KiB): it is skipped, never buffered whole. */
export const MAX_LINE_BYTES = 1024 * 1024;

export interface LineProgress {
  /** Bytes of the files read so far (compressed bytes for .gz files). */
  bytesRead: number;
  bytesTotal: number;
  /** Non-blank lines read so far. */
  lines: number;
}

/** A line's text, or null for a line over MAX_LINE_BYTES. */
export type AuditLine = string | null;

/**
 * The non-blank lines of audit files, one file after another, streamed in chunks and handed out a chunk's worth
 * at a time (one await per chunk, not per line): memory stays at a chunk plus one line whatever the files'
 * size. `.gz` files are decompressed on the fly (rotated logs usually are).
 */
export async function* readAuditLines(
  files: readonly string[],
  progress: LineProgress,
): AsyncGenerator<AuditLine[]> {
  progress.bytesTotal = files.reduce((sum, f) => sum + statSync(f).size, 0);
  for (const file of files) {
    const raw = createReadStream(file, { highWaterMark: 256 * 1024 });
    raw.on("data", (chunk) => {
      progress.bytesRead += chunk.length;
    });
    const stream = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
    const decoder = new StringDecoder("utf8");
    let rest = "";
    let skipping = false;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const parts = (rest + decoder.write(chunk)).split("\n");
      rest = parts.pop() ?? "";
      const batch: AuditLine[] = [];
      for (const text of parts) {
        if (skipping) {
          skipping = false;
          batch.push(null);
        } else if (text.trim() !== "") batch.push(text);
      }
      progress.lines += batch.length;
      if (batch.length > 0) yield batch;
      if (rest.length > MAX_LINE_BYTES) {
        rest = "";
        skipping = true;
      }
    }
    rest += decoder.end();
    if (skipping || rest.trim() !== "") {
      progress.lines++;
      yield [skipping ? null : rest];
    }
  }
}
