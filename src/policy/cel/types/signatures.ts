import { TIME_GETTERS } from "./time-getters.ts";

/**
 * The standard library, as @bufbuild/cel 0.6 implements it (std/logic, math, cast, time). Data, not code:
 * `name(args) result` for functions, `receiver.name(args) result` for methods. `list` is list(dyn), `map` is
 * map(dyn, dyn). Equality, `in`, indexing, `?:`, `&&`/`||` and list `+` are typed by the checker itself.
 */

const RELATIONS = [
  "bool bool",
  "bytes bytes",
  "double double",
  "string string",
  "int int",
  "int uint",
  "uint int",
  "uint uint",
  "int double",
  "double int",
  "double uint",
  "uint double",
  "duration duration",
  "timestamp timestamp",
];

export const SIGNATURES: readonly string[] = [
  "!_(bool) bool",
  "-_(int) int",
  "-_(double) double",
  ...["_<_", "_<=_", "_>_", "_>=_"].flatMap((op) =>
    RELATIONS.map((pair) => `${op}(${pair.replace(" ", ", ")}) bool`),
  ),
  ...["int", "uint", "double"].flatMap((t) =>
    ["_+_", "_-_", "_*_", "_/_"].map((op) => `${op}(${t}, ${t}) ${t}`),
  ),
  "_%_(int, int) int",
  "_%_(uint, uint) uint",
  "_+_(string, string) string",
  "_+_(bytes, bytes) bytes",
  "_+_(duration, duration) duration",
  "_+_(timestamp, duration) timestamp",
  "_+_(duration, timestamp) timestamp",
  "_-_(timestamp, timestamp) duration",
  "_-_(duration, duration) duration",
  "_-_(timestamp, duration) timestamp",
  ...["string", "bytes", "list", "map"].flatMap((t) => [`size(${t}) int`, `${t}.size() int`]),
  ...["contains", "startsWith", "endsWith", "matches"].map((m) => `string.${m}(string) bool`),
  ...["int", "uint", "double", "string", "timestamp", "duration"].map((t) => `int(${t}) int`),
  ...["uint", "int", "double", "string"].map((t) => `uint(${t}) uint`),
  ...["double", "int", "uint", "string"].map((t) => `double(${t}) double`),
  "bool(bool) bool",
  "bool(string) bool",
  "bytes(bytes) bytes",
  "bytes(string) bytes",
  ...["string", "bool", "int", "uint", "double", "bytes", "timestamp", "duration"].map(
    (t) => `string(${t}) string`,
  ),
  ...["timestamp", "string", "int"].map((t) => `timestamp(${t}) timestamp`),
  ...["duration", "string", "int"].map((t) => `duration(${t}) duration`),
  "type(dyn) type",
  "dyn(dyn) dyn",
  ...TIME_GETTERS.flatMap((g) => [`timestamp.${g}() int`, `timestamp.${g}(string) int`]),
  ...["getHours", "getMinutes", "getSeconds", "getMilliseconds"].map((g) => `duration.${g}() int`),
];
