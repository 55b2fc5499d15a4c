import { z } from "zod";
import { parseDuration } from "../util/duration.ts";

/** A duration string (`90s`, `15m`, `1h`) parsed to seconds. */
export const durationSchema = z
  .string()
  .describe("Duration such as 90s, 15m, 1h")
  .transform((text, ctx) => {
    const seconds = parseDuration(text);
    if (seconds === undefined || seconds <= 0) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a duration like 90s, 15m or 1h` });
      return z.NEVER;
    }
    return seconds;
  });

/** A lifetime: whole seconds (NumericDate claims and `expires_in` are integers), at least one. */
export const lifetimeSchema = durationSchema.refine((s) => Number.isInteger(s) && s >= 1, {
  message: "must be a whole number of seconds, at least 1s",
});
