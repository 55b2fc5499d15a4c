/** Exit codes: scripts tell "do not retry" (1, 2) from "retry later" (3). */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

/** 429 and 5xx are worth retrying later; any other failure is a refusal. */
export const exitFor = (status: number) =>
  status === 429 || status >= 500 ? EXIT.unavailable : EXIT.refused;
