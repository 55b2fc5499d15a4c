import { FLAT_LIST_CONCAT } from "./flat-list-concat.ts";
import { TIMESTAMP_FROM_SECONDS } from "./timestamp-from-seconds.ts";
import { TIMESTAMP_GETTERS } from "./timestamp-getters.ts";

/** Where @bufbuild/cel 0.6 departs from cel-spec (or is too slow to bound), these replace its functions. */
export const STANDARD_OVERRIDES = [FLAT_LIST_CONCAT, ...TIMESTAMP_GETTERS, TIMESTAMP_FROM_SECONDS];
