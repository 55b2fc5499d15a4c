import { type CelT, DYN, list, map, prim, STRING } from "./cel-type.ts";

/** The variables a condition sees (CONTRACT §5): `claims`, `request` and `now`. */

export const REQUEST_FIELDS: Readonly<Record<string, CelT>> = {
  audience: STRING,
  scopes: list(STRING),
  sourceIp: STRING,
};

export const VARIABLES: Readonly<Record<string, CelT>> = {
  claims: map(STRING, DYN),
  request: { kind: "request" },
  now: prim("google.protobuf.Timestamp"),
};

/** An `actors` entry's condition (CONTRACT §9): `claims` is the actor's, `subject` the subject token's. */
export const ACTOR_VARIABLES: Readonly<Record<string, CelT>> = { ...VARIABLES, subject: map(STRING, DYN) };

/** Identifiers that denote types, for `type(x) == string`. */
export const TYPE_NAMES = new Set([
  "bool",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "list",
  "map",
  "null_type",
  "type",
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
]);
