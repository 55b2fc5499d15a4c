import { CelScalar, celFunc } from "@bufbuild/cel";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { TIMESTAMP } from "./runtime-types.ts";

/** CEL's timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/** cel-spec: timestamp(int) counts seconds since the epoch (@bufbuild/cel 0.6 reads milliseconds). */
export const TIMESTAMP_FROM_SECONDS = celFunc("timestamp", [CelScalar.INT], TIMESTAMP, (seconds) => {
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS)
    throw new Error("timestamp out of range");
  return create(TimestampSchema, { seconds });
});
