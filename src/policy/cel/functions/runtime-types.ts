import { CelScalar, listType, objectType } from "@bufbuild/cel";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";

/** Run-time types the overrides declare: `google.protobuf.Timestamp` and `list(dyn)`. */
export const TIMESTAMP = objectType(TimestampSchema);
export const LIST = listType(CelScalar.DYN);
