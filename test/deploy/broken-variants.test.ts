/**
 * Each rule fires: one plausible mistake at a time, made in a copy of the shipped artefacts, must be reported.
 * (The shipped artefacts themselves produce no problem: shipped.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Artefacts, loadArtefacts, named } from "./helpers/artefacts.ts";
import { composeProblems } from "./helpers/compose-rules.ts";
import { dockerfileProblems } from "./helpers/dockerfile-rules.ts";
import { kubernetesProblems } from "./helpers/kubernetes-rules.ts";

function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined)
    throw new Error("the variant's target is not in the shipped files");
  return value;
}
function edited(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`${from} is not in the shipped file`);
  return out;
}
const docker = (from: string | RegExp, to: string) => (a: Artefacts) => {
  a.dockerfile = edited(a.dockerfile, from, to);
};
/** Sets one field: the mistake is typed like the field, so it stays a plausible edit of the manifest. */
function put<T extends object, K extends keyof T>(target: T | undefined, key: K, value: T[K]): void {
  must(target)[key] = value;
}
function remove<T extends object>(target: T | undefined, key: keyof T): void {
  delete must(target)[key];
}
const deployment = (a: Artefacts, name = "wif-broker") => must(named(a.kubernetes, "Deployment", name));
const pod = (a: Artefacts) => must(deployment(a).spec?.template.spec);
const container = (a: Artefacts) => must(pod(a).containers[0]);
const sc = (a: Artefacts) => must(container(a).securityContext);
const env = (a: Artefacts, name: string, value: string) => void container(a).env?.push({ name, value });
const k8s = <K extends Parameters<typeof named>[1]>(a: Artefacts, kind: K, name = "wif-broker") =>
  must(named(a.kubernetes, kind, name));
const drop = (a: Artefacts, kind: string, name: string) => {
  a.kubernetes = a.kubernetes.filter((m) => m.doc.kind !== kind || m.doc.metadata?.name !== name);
};
const editKey = (configMap: string, key: string, from: string, to: string) => (a: Artefacts) => {
  const data = must(k8s(a, "ConfigMap", configMap).data);
  data[key] = edited(must(data[key]), from, to);
};
const configText = (from: string, to: string) => editKey("wif-broker-config", "wif-broker.yaml", from, to);
const policyText = (from: string, to: string) =>
  editKey("wif-broker-policies", "example-github-deploy.yaml", from, to);
const netpol = (a: Artefacts) => must(k8s(a, "NetworkPolicy").spec);
const hpa = (a: Artefacts) => must(k8s(a, "HorizontalPodAutoscaler").spec);
const redisPod = (a: Artefacts) => must(deployment(a, "wif-broker-redis").spec?.template.spec);
const redisSecret = (a: Artefacts) => k8s(a, "Secret", "wif-broker-redis");
const signingKeys = (a: Artefacts) => k8s(a, "Secret", "wif-broker-signing-keys");
const PEM = "-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n";
const service = (a: Artefacts, name: string) => must(a.compose.services?.[name]);

type Variant = [name: string, breakIt: (a: Artefacts) => void, expected: RegExp];

const DOCKERFILE: Variant[] = [
  ["older Node", docker("FROM node:24-bookworm-slim AS runtime", "FROM node:22-slim AS runtime"), /node:24/],
  ["untagged base", docker("FROM node:24-bookworm-slim AS build", "FROM node AS build"), /explicit tag/],
  ["single stage", docker(/^[\s\S]*(?=FROM node:24-bookworm-slim AS runtime)/, ""), /multi-stage/],
  ["no USER", docker(/^USER .*$/m, ""), /non-root USER/],
  ["USER root", docker(/^USER .*$/m, "USER root"), /non-root USER/],
  ["HEALTHCHECK not JSON", docker('process.exit(1))"]', "process.exit(1))]"), /CMD in exec form/],
  ["HEALTHCHECK curl", docker(/CMD \["node".*$/m, 'CMD ["curl", "http://127.0.0.1:8080/healthz"]'), /curl/],
  ["HEALTHCHECK flag typo", docker("--interval=15s", "--intervall=15s"), /Unknown flag: intervall/],
  ["npm install", docker("RUN npm ci --ignore-scripts", "RUN npm install"), /npm install/],
  ["dev dependencies kept", docker("npm prune --omit=dev --ignore-scripts", "true"), /pruned/],
  ["EXPOSE another port", docker("EXPOSE 8080", "EXPOSE 3000"), /EXPOSE 8080 missing/],
  ["shell-form ENTRYPOINT", docker(/^ENTRYPOINT .*$/m, "ENTRYPOINT node dist/cli/main.js"), /ENTRYPOINT/],
  ["CMD not serve", docker('CMD ["serve"]', 'CMD ["dev"]'), /CMD must be/],
  ["missing COPY source", docker("COPY src ./src", "COPY source ./src"), /source does not exist/],
  ["COPY --from no stage", docker("--from=build /app/dist", "--from=builder /app/dist"), /earlier stage/],
  ["src in the runtime", docker("COPY policies ./policies", "COPY src ./src"), /runtime stage copies src/],
  ["NODE_OPTIONS dropped", docker(/^ENV NODE_OPTIONS=.*$/m, ""), /NODE_OPTIONS/],
  ["secret in ENV", docker("ENV NODE_ENV=production", "ENV REDIS_URL=redis://:pw@r"), /literal password/],
  ["COPY source ignored", (a) => put(a, "dockerignore", `${a.dockerignore}\nsrc`), /src is excluded/],
  [
    "keys in the context",
    (a) => put(a, "dockerignore", edited(a.dockerignore, /^keys$/m, "")),
    /exclude keys/,
  ],
];

const KUBERNETES: Variant[] = [
  // schemas and the set
  [
    "replicas a string",
    (a) => void Object.assign(must(deployment(a).spec), { replicas: "2" }),
    /replicas type/,
  ],
  [
    "misspelt field",
    (a) => void Object.assign(container(a), { readinesProbe: {} }),
    /unknown field .*readines/,
  ],
  [
    "kind without schema",
    (a) => void a.kubernetes.push({ file: "x.yaml", doc: { kind: "Ingress" } }),
    /schema/,
  ],
  ["other namespace", (a) => put(deployment(a).metadata, "namespace", "default"), /in the Namespace/],
  ["duplicate object", (a) => void a.kubernetes.push(must(a.kubernetes[0])), /duplicate object/],
  ["file not applied", (a) => void a.kustomization.resources?.pop(), /resources: missing \[\w/],
  [
    "example applied",
    (a) => void a.kustomization.resources?.push("secret-signing-keys.example.yaml"),
    /unexp/,
  ],
  ["kustomize latest", (a) => put(a.kustomization.images?.[0], "newTag", "latest"), /explicit newTag/],
  ["image latest", (a) => put(container(a), "image", "wif-broker:latest"), /moving tag/],
  ["untagged Redis", (a) => put(redisPod(a).containers[0], "image", "redis"), /redis has no tag/],
  ["private key committed", (a) => put(signingKeys(a), "stringData", { k: PEM }), /holds a private key/],
  // the broker pod
  ["one replica", (a) => put(deployment(a).spec, "replicas", 1), /replicas must be ≥ 2/],
  ["readiness on /healthz", (a) => put(container(a).readinessProbe?.httpGet, "path", "/healthz"), /\/readyz/],
  ["liveness port", (a) => put(container(a).livenessProbe?.httpGet, "port", 9090), /livenessProbe/],
  ["container port", (a) => put(container(a).ports?.[0], "containerPort", 8081), /no container port 8080/],
  ["runAsNonRoot off", (a) => put(sc(a), "runAsNonRoot", false), /runAsNonRoot must be true/],
  ["runs as root", (a) => put(sc(a), "runAsUser", 0), /runAsUser must not be 0/],
  ["writable root fs", (a) => put(sc(a), "readOnlyRootFilesystem", false), /readOnlyRootFilesystem/],
  ["privilege escalation", (a) => remove(sc(a), "allowPrivilegeEscalation"), /allowPrivilegeEscalation/],
  ["capabilities kept", (a) => put(sc(a), "capabilities", { drop: ["NET_RAW"] }), /drop ALL/],
  ["unconfined seccomp", (a) => put(sc(a), "seccompProfile", { type: "Unconfined" }), /seccomp/],
  ["API token mounted", (a) => put(pod(a), "automountServiceAccountToken", true), /automountService/],
  ["no memory limit", (a) => remove(container(a).resources?.limits, "memory"), /limits\.memory/],
  ["no preStop", (a) => remove(container(a), "lifecycle"), /preStop must sleep/],
  ["short grace period", (a) => put(pod(a), "terminationGracePeriodSeconds", 30), /terminationGrace/],
  ["password in env", (a) => env(a, "DB_PASSWORD", "hunter2"), /DB_PASSWORD is a literal secret/],
  ["NODE_OPTIONS override", (a) => env(a, "NODE_OPTIONS", "--max-old-space-size=100"), /replaces/],
  ["REDIS_URL Secret missing", (a) => drop(a, "Secret", "wif-broker-redis"), /REDIS_URL must come from/],
  ["missing ConfigMap", (a) => put(pod(a).volumes?.[1]?.configMap, "name", "gone"), /gone does not exist/],
  ["missing Secret", (a) => drop(a, "Secret", "wif-broker-signing-keys"), /wif-broker-signing-keys does not/],
  ["subPath mount", (a) => put(container(a).volumeMounts?.[1], "subPath", "x.yaml"), /uses subPath/],
  [
    "--config not mounted",
    (a) => put(container(a), "args", ["serve", "--config", "/x.yaml"]),
    /must be a key/,
  ],
  ["unknown config key", configText("limits:", "limit:"), /Unrecognized key/],
  ["config port", configText("port: 8080", "port: 9090"), /listens on 9090, not 8080/],
  [
    "policies not mounted",
    configText("/etc/wif-broker/policies", "/etc/wif-broker/policy"),
    /mounted Config/,
  ],
  ["keysDir not the Secret", configText("/etc/wif-broker/keys", "/tmp/k"), /keysDir \/tmp\/k must/],
  ["unknown provider", policyText("provider: github", "provider: gitlab"), /unknown provider gitlab/],
  ["invalid policy", policyText("ttl: 15m", "ttl: soon"), /grant\.ttl/],
  // around the broker
  ["Service targetPort", (a) => put(k8s(a, "Service").spec?.ports?.[0], "targetPort", 9090), /reach 8080/],
  ["PDB blocks drains", (a) => put(k8s(a, "PodDisruptionBudget").spec, "minAvailable", 2), /minAvailable/],
  ["HPA target", (a) => put(hpa(a).scaleTargetRef, "name", "x"), /scaleTargetRef/],
  ["HPA on memory", (a) => put(hpa(a).metrics?.[0]?.resource, "name", "memory"), /scale on cpu/],
  ["HPA down to one", (a) => put(hpa(a), "minReplicas", 1), /minReplicas must be ≥ 2/],
  ["REDIS_URL host", (a) => put(redisSecret(a).stringData, "url", "redis://redis:6379"), /Redis Service/],
  ["ingress port", (a) => put(netpol(a).ingress?.[0]?.ports?.[0], "port", 9090), /limited to port 8080/],
  ["no DNS egress", (a) => void netpol(a).egress?.splice(1, 1), /allow DNS/],
  ["no HTTPS egress", (a) => void netpol(a).egress?.pop(), /allow 443\/TCP/],
  ["open egress", (a) => void netpol(a).egress?.push({}), /without ports allows everything/],
  ["no Redis egress", (a) => put(netpol(a).egress?.[0]?.ports?.[0], "port", 6380), /Redis pods on 6379/],
  ["Redis open to all", (a) => drop(a, "NetworkPolicy", "wif-broker-redis"), /Redis NetworkPolicy/],
];

const COMPOSE: Variant[] = [
  [
    "compose unknown key",
    (a) => void Object.assign(service(a, "broker-1"), { helthcheck: {} }),
    /additional/,
  ],
  ["compose root", (a) => put(service(a, "broker-1"), "user", "0:0"), /user must be a non-root uid/],
  ["compose capabilities", (a) => put(service(a, "broker-1"), "cap_drop", ["NET_RAW"]), /cap_drop/],
  ["compose port", (a) => put(service(a, "broker-1"), "ports", ["127.0.0.1:8081:9090"]), /publish .* 8080/],
  ["compose password", (a) => put(service(a, "broker-1"), "environment", { REDIS_PASSWORD: "x" }), /literal/],
  ["compose writable", (a) => put(service(a, "broker-2"), "read_only", false), /read_only/],
  ["compose no healthcheck", (a) => remove(service(a, "broker-2"), "healthcheck"), /healthcheck must probe/],
  ["compose no wait", (a) => put(service(a, "broker-1"), "depends_on", ["redis"]), /service_healthy/],
  ["compose REDIS_URL", (a) => put(service(a, "broker-1"), "environment", {}), /point at the redis/],
  ["compose latest", (a) => put(service(a, "redis"), "image", "redis:latest"), /moving tag/],
  [
    "compose --config",
    (a) => put(service(a, "broker-1"), "command", ["serve", "--config", "/x"]),
    /bind-mounted/,
  ],
];

const CHECKS: Array<[string, Variant[], (a: Artefacts) => string[]]> = [
  ["Dockerfile", DOCKERFILE, (a) => dockerfileProblems(a.dockerfile, a.dockerignore)],
  ["deploy/kubernetes", KUBERNETES, kubernetesProblems],
  ["deploy/compose.yaml", COMPOSE, (a) => composeProblems(a.compose)],
];

const shipped = loadArtefacts();
for (const [artefact, variants, problemsOf] of CHECKS) {
  describe(`${artefact}: each rule fires on a broken variant`, () => {
    for (const [name, breakIt, expected] of variants) {
      it(name, () => {
        const a = structuredClone(shipped);
        breakIt(a);
        const problems = problemsOf(a);
        assert.ok(
          problems.some((p) => expected.test(p)),
          `expected ${expected}, got:\n${problems.join("\n")}`,
        );
      });
    }
  });
}
