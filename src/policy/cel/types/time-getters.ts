/** cel-spec "Timestamp functions": the getters a timestamp has, each with an optional time-zone argument. */
export const TIME_GETTERS = [
  "getFullYear",
  "getMonth",
  "getDate",
  "getDayOfMonth",
  "getDayOfWeek",
  "getDayOfYear",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getMilliseconds",
] as const;

export type TimeGetter = (typeof TIME_GETTERS)[number];

export const isTimeGetter = (fn: string): fn is TimeGetter =>
  (TIME_GETTERS as readonly string[]).includes(fn);
