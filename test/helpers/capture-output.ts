/** Runs `fn` while recording everything written to stdout/stderr (still passed through to the real streams). */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; output: string }> {
  const written: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    const original = originals[i];
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return Reflect.apply(original as typeof stream.write, stream, [chunk, ...rest]) as boolean;
    }) as typeof stream.write;
  });
  try {
    return { result: await fn(), output: written.join("") };
  } finally {
    streams.forEach((stream, i) => {
      stream.write = originals[i] as typeof stream.write;
    });
  }
}
