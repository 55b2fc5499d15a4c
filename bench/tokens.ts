import { Worker } from "node:worker_threads";
import type { TokenJob } from "./token-worker.ts";

const WORKER = new URL("./token-worker.ts", import.meta.url);

/** Form bodies with fresh tokens, signed on `threads` worker threads (RSA signing dominates the bench's set-up). */
export async function freshBodies(job: TokenJob, threads = 2): Promise<string[]> {
  const share = Math.ceil(job.count / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<string>((resolve, reject) => {
          const w = new Worker(WORKER, { workerData: { ...job, count: share } });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    ),
  );
  return parts.join("\n").split("\n").slice(0, job.count);
}
