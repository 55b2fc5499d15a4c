import { Worker } from "node:worker_threads";
import type { DemoIssuer } from "../src/dev/demo-issuer.ts";
import { BENCH_CLAIMS } from "./policies.ts";
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

/** Subject tokens of the demo issuer with the claims every benchmark presents (admitted by `bench-target`). */
export const subjectJob = (idp: DemoIssuer) => ({
  kind: "subject" as const,
  privateJwk: idp.currentKey.privateKey.export({ format: "jwk" }) as Record<string, string>,
  kid: idp.currentKey.kid,
  issuer: idp.url,
  claims: BENCH_CLAIMS,
});
