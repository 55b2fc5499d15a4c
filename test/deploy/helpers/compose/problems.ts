import { BROKER_IMAGE, DEPLOY } from "../deploy-layout.ts";
import { failInto } from "../fail-into.ts";
import { imageName } from "../images.ts";
import { isObj, type Obj, str } from "../yaml-access.ts";
import { type BrokerSharing, checkBrokerService } from "./check-broker-service.ts";
import { checkRedisService, checkServices } from "./check-services.ts";
import { commandList } from "./load.ts";
import { composeSchemaProblems } from "./schema.ts";

/** Every problem of a compose file: the Compose Specification, then the structural requirements. */
export function composeProblems(doc: Obj, baseDir: string = DEPLOY): string[] {
  const problems: string[] = [];
  const fail = failInto(problems);
  problems.push(...composeSchemaProblems(doc));
  const services = isObj(doc.services) ? doc.services : {};
  const entries = Object.entries(services).filter((e): e is [string, Obj] => isObj(e[1]));
  checkServices(doc, entries, baseDir, fail);
  const redisName = checkRedisService(entries, fail);

  const brokers = entries.filter(
    ([, s]) =>
      imageName(str(s.image) ?? "") === BROKER_IMAGE &&
      s.entrypoint === undefined &&
      (s.command === undefined || commandList(s.command).includes("serve")),
  );
  if (brokers.length !== 2) fail(`compose: exactly 2 broker services expected, found ${brokers.length}`);
  const shared: BrokerSharing = { hostPorts: [], configSources: new Set(), policySources: new Set() };
  for (const [name, svc] of brokers) checkBrokerService({ name, svc, redisName, baseDir, shared, problems });

  const distinct = new Set(shared.hostPorts);
  if (distinct.size !== shared.hostPorts.length || [8081, 8082].some((p) => !distinct.has(p))) {
    fail(`compose: brokers must publish host ports 8081 and 8082 (are ${shared.hostPorts.join(", ")})`);
  }
  if (brokers.length === 2 && (shared.configSources.size !== 1 || shared.policySources.size !== 1)) {
    fail("compose: both brokers must mount the same config file and the same policies folder");
  }
  return problems;
}
