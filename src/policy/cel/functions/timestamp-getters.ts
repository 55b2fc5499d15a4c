import { CelScalar, type CelValue, celMethod } from "@bufbuild/cel";
import { type ZonedTime, zonedTime } from "../../access.ts";
import type { TimeGetter } from "../types/time-getters.ts";
import { TIMESTAMP } from "./runtime-types.ts";

/**
 * CEL's timestamp getters (cel-spec "Timestamp functions"): UTC without an argument, else in the named zone.
 * They replace @bufbuild/cel's, which go through a local-time Date and so depend on the process's TZ (an hour
 * off around DST changes of that zone).
 */
const GETTERS: Readonly<Record<TimeGetter, (t: ZonedTime) => number>> = {
  getFullYear: (t) => t.year,
  getMonth: (t) => t.month - 1,
  getDate: (t) => t.day,
  getDayOfMonth: (t) => t.day - 1,
  getDayOfWeek: (t) => t.weekday,
  getDayOfYear: (t) => (Date.UTC(t.year, t.month - 1, t.day) - Date.UTC(t.year, 0, 1)) / 86_400_000,
  getHours: (t) => t.hour,
  getMinutes: (t) => t.minute,
  getSeconds: (t) => t.second,
  getMilliseconds: (t) => t.millisecond,
};

export const TIMESTAMP_GETTERS = Object.entries(GETTERS).flatMap(([name, get]) => {
  const impl = (ts: CelValue<typeof TIMESTAMP>, zone: string): bigint => {
    const { seconds, nanos } = ts.message;
    return BigInt(get(zonedTime(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000), zone)));
  };
  return [
    celMethod(name, TIMESTAMP, [], CelScalar.INT, function () {
      return impl(this, "UTC");
    }),
    celMethod(name, TIMESTAMP, [CelScalar.STRING], CelScalar.INT, function (zone) {
      return impl(this, zone);
    }),
  ];
});
