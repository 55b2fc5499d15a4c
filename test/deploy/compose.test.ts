/**
 * deploy/compose.yaml against the Compose Specification JSON Schema shipped by `dclint` (via ajv), dclint's
 * semantic rules, the product's own config and policy schemas for what it mounts, and the structural
 * requirements; then one mutation at a time, each of which the checks must report.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { dclintProblems } from "./helpers/compose/dclint.ts";
import { loadCompose } from "./helpers/compose/load.ts";
import { composeProblems } from "./helpers/compose/problems.ts";
import { DEPLOY } from "./helpers/deploy-layout.ts";
import { itReportsEach, type Mutation } from "./helpers/mutations.ts";
import { type Obj, strings } from "./helpers/yaml-access.ts";
import { drop, objAt, put } from "./helpers/yaml-edit.ts";

describe("deploy/compose.yaml", () => {
  const { doc } = loadCompose();

  it("validates against the Compose Specification and the structural requirements", () => {
    assert.deepEqual(composeProblems(doc), []);
  });

  it("passes dclint's semantic rules", () => {
    assert.deepEqual(dclintProblems(join(DEPLOY, "compose.yaml")), []);
  });
});

function service(d: Obj, name: string): Obj {
  return objAt(d, "services", name);
}
const composeMutations: Array<Mutation<Obj>> = [
  ["one broker", (d) => drop(objAt(d, "services"), "broker-2"), /exactly 2 broker services/],
  [
    "same host port",
    (d) => put(service(d, "broker-2"), "ports", ["127.0.0.1:8081:8080"]),
    /host ports 8081 and 8082/,
  ],
  [
    "unknown key",
    (d) => put(service(d, "broker-1"), "helthcheck", {}),
    /compose schema: \/services\/broker-1 additionalProperties/,
  ],
  [
    "wrong type",
    (d) => put(service(d, "redis"), "cap_drop", "ALL"),
    /compose schema: \/services\/redis\/cap_drop type/,
  ],
  [
    "depends_on started",
    (d) => put(objAt(service(d, "broker-1"), "depends_on", "redis"), "condition", "service_started"),
    /must wait for service_healthy/,
  ],
  [
    "depends_on unknown",
    (d) => {
      objAt(service(d, "broker-1"), "depends_on").postgres = { condition: "service_started" };
    },
    /depends_on postgres, which is not a service/,
  ],
  [
    "no broker healthcheck",
    (d) => drop(service(d, "broker-2"), "healthcheck"),
    /broker-2: healthcheck must probe/,
  ],
  [
    "no redis healthcheck",
    (d) => drop(service(d, "redis"), "healthcheck"),
    /redis service needs a healthcheck/,
  ],
  ["no redis", (d) => drop(objAt(d, "services"), "redis"), /exactly one redis service/],
  ["redis latest", (d) => put(service(d, "redis"), "image", "redis:latest"), /moving tag/],
  [
    "REDIS_URL",
    (d) => put(objAt(service(d, "broker-1"), "environment"), "REDIS_URL", "redis://localhost:6379"),
    /REDIS_URL must point at the redis service/,
  ],
  ["root user", (d) => put(service(d, "broker-1"), "user", "0:0"), /user must be a non-root uid/],
  [
    "different policies",
    (d) => {
      const vols = strings(service(d, "broker-2").volumes).map((v) =>
        v.replace("./compose/policies:", "../policies:"),
      );
      service(d, "broker-2").volumes = vols;
    },
    /same config file and the same policies folder|holds no policy/,
  ],
  [
    "missing bind source",
    (d) => {
      service(d, "broker-1").volumes = strings(service(d, "broker-1").volumes).map((v) =>
        v.replace("./compose/wif-broker.yaml", "./nope.yaml"),
      );
    },
    /bind source \.\/nope\.yaml does not exist/,
  ],
  ["undeclared volume", (d) => drop(d, "volumes"), /named volume signing-keys is not declared/],
  [
    "config not mounted",
    (d) => put(service(d, "broker-1"), "command", ["serve", "--config", "/srv/x.yaml"]),
    /--config must name a bind-mounted config file/,
  ],
  [
    "missing Dockerfile",
    (d) => put(objAt(service(d, "keygen"), "build"), "dockerfile", "Nope.Dockerfile"),
    /build Dockerfile Nope\.Dockerfile does not exist/,
  ],
];

describe("compose checks fail on a broken compose file", () => {
  const { doc: pristine, text } = loadCompose();
  itReportsEach(pristine, composeMutations, (d) => composeProblems(d));

  it("dclint: unbound host interface", () => {
    const dir = mkdtempSync(join(tmpdir(), "wif-compose-"));
    try {
      const file = join(dir, "compose.yaml");
      writeFileSync(file, text.replace('"127.0.0.1:8082:8080"', '"8082:8080"'));
      assert.ok(dclintProblems(file).some((p) => p.includes("no-unbound-port-interfaces")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
