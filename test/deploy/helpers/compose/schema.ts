import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { isObj } from "../yaml-access.ts";

/** The Compose Specification JSON Schema shipped by dclint, compiled by ajv. */
const composeSchema: unknown = (() => {
  const pkg = fileURLToPath(import.meta.resolve("dclint/package.json"));
  const schema: unknown = JSON.parse(
    readFileSync(join(dirname(pkg), "schemas", "compose.schema.json"), "utf8"),
  );
  if (!isObj(schema)) throw new Error("dclint's compose.schema.json is not an object");
  const { $schema: _ignored, ...rest } = schema;
  return rest;
})();
const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const validateCompose = ajv.compile(isObj(composeSchema) ? composeSchema : {});

export function composeSchemaProblems(doc: unknown): string[] {
  if (validateCompose(doc)) return [];
  return (validateCompose.errors ?? []).map(
    (e) =>
      `compose schema: ${e.instancePath || "/"} ${e.keyword}: ${e.message ?? ""} ${JSON.stringify(e.params)}`,
  );
}
