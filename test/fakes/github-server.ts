import { type KeyObject, randomInt } from "node:crypto";
import { createServer, type Server } from "node:http";
import { jwtVerify } from "jose";
import {
  closeServer,
  fakeLog,
  jsonResponder,
  listenOnLoopback,
  type RecordingFake,
  withBody,
} from "./loopback.ts";

/**
 * A loopback fake of the GitHub REST API endpoints a GitHub App uses for installation tokens
 * (https://docs.github.com/rest/apps): it verifies the App JWT with the App's public key (RS256, iss = App ID,
 * exp at most 10 minutes ahead) as GitHub does, and answers in GitHub's JSON shapes:
 *   GET    /orgs/{org}/installation, /users/{username}/installation          (App JWT)
 *   POST   /app/installations/{id}/access_tokens {repositories?, permissions?} (App JWT) → 201 {token, expires_at, …}
 *   GET    /installation/repositories                                       (installation token)
 *   DELETE /installation/token                                              (installation token) → 204
 * `pathPrefix` serves GitHub Enterprise Server's `/api/v3`.
 */

export type Level = "read" | "write" | "admin";

export interface FakeInstallation {
  id: number;
  login: string;
  type: "Organization" | "User";
  repositories: string[];
  permissions: Record<string, Level>;
}

export interface GithubCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
  /** Which credential authenticated it. */
  auth: "app" | "installation" | "none";
}

export interface IssuedGithubToken {
  token: string;
  installation: number;
  repositories: string[] | "all";
  permissions: Record<string, Level>;
  revoked: boolean;
}

export interface GithubFailure {
  status: number;
  headers?: Record<string, string>;
}

export interface FakeGithub extends RecordingFake<GithubCall, IssuedGithubToken, GithubFailure> {
  /** `apiUrl` for the broker (with the path prefix). */
  apiUrl: string;
  install(installation: Omit<FakeInstallation, "id">): FakeInstallation;
  uninstall(login: string): void;
  /** JWTs GitHub refused (bad signature, wrong iss, exp too far). */
  rejectedJwts: number;
}

const RANK: Record<Level, number> = { read: 0, write: 1, admin: 2 };
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const newToken = () => `ghs_${Array.from({ length: 36 }, () => BASE62[randomInt(62)]).join("")}`;

export async function startFakeGithub(options: {
  appId: string;
  appPublicKey: KeyObject;
  pathPrefix?: string;
  now?: () => number;
}): Promise<FakeGithub> {
  const now = options.now ?? Date.now;
  const prefix = options.pathPrefix ?? "";
  const { failures, ...log } = fakeLog<GithubCall, IssuedGithubToken, GithubFailure>();
  const installations = new Map<string, FakeInstallation>();
  let nextId = 40_000_000;
  const state = { rejectedJwts: 0 };

  async function appAuthorized(header: string | undefined): Promise<boolean> {
    const jwt = /^bearer (.+)$/i.exec(header ?? "")?.[1];
    if (!jwt) return false;
    try {
      const { payload } = await jwtVerify(jwt, options.appPublicKey, {
        algorithms: ["RS256"],
        currentDate: new Date(now()),
      });
      // GitHub takes the App ID as a number or a string (or the App's client ID).
      if (String(payload.iss as unknown) !== options.appId) return false;
      const seconds = Math.floor(now() / 1000);
      // GitHub: "exp … no more than 10 minutes into the future"; iat in the past.
      if (typeof payload.iat !== "number" || payload.iat > seconds + 1) return false;
      if (typeof payload.exp !== "number" || payload.exp > seconds + 600) return false;
      return true;
    } catch {
      return false;
    }
  }
  const installationToken = (header: string | undefined): IssuedGithubToken | undefined => {
    const token = /^(?:bearer|token) (ghs_\w+)$/i.exec(header ?? "")?.[1];
    const t = log.issued.find((i) => i.token === token);
    return t && !t.revoked ? t : undefined;
  };

  const server: Server = createServer(
    withBody(async (req, res, text) => {
      const json = jsonResponder(res, "application/json; charset=utf-8");
      const message = (status: number, m: string) =>
        json(status, {
          message: m,
          documentation_url: "https://docs.github.com/rest",
          status: String(status),
        });
      const url = new URL(req.url ?? "/", "http://x");
      if (!url.pathname.startsWith(`${prefix}/`)) return message(404, "Not Found");
      const path = url.pathname.slice(prefix.length);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text || "{}") as Record<string, unknown>;
      } catch {
        return message(400, "Problems parsing JSON");
      }
      const app = await appAuthorized(req.headers.authorization);
      const tokenAuth = installationToken(req.headers.authorization);
      log.requests.push({
        method: req.method ?? "",
        path,
        body,
        auth: app ? "app" : tokenAuth ? "installation" : "none",
      });
      const failure = failures.shift();
      if (failure) return json(failure.status, { message: "injected" }, failure.headers ?? {});
      if (req.headers.accept !== "application/vnd.github+json" && !req.headers.accept?.includes("json")) {
        return message(415, "Unsupported Media Type");
      }

      const lookup = /^\/(orgs|users)\/([^/]+)\/installation$/.exec(path);
      if (req.method === "GET" && lookup) {
        if (!app) {
          state.rejectedJwts++;
          return message(401, "A JSON web token could not be decoded");
        }
        const inst = installations.get(decodeURIComponent(lookup[2] ?? "").toLowerCase());
        const type = lookup[1] === "orgs" ? "Organization" : "User";
        if (!inst || inst.type !== type) return message(404, "Not Found");
        return json(200, {
          id: inst.id,
          account: { login: inst.login, type: inst.type },
          app_id: Number(options.appId),
          target_type: inst.type,
          permissions: inst.permissions,
          repository_selection: "all",
        });
      }

      const create = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
      if (req.method === "POST" && create) {
        if (!app) {
          state.rejectedJwts++;
          return message(401, "A JSON web token could not be decoded");
        }
        const inst = [...installations.values()].find((i) => i.id === Number(create[1]));
        if (!inst) return message(404, "Not Found");
        const wantedRepos = body.repositories;
        if (wantedRepos !== undefined) {
          if (
            !Array.isArray(wantedRepos) ||
            wantedRepos.some((r) => !inst.repositories.includes(String(r)))
          ) {
            return message(422, "There is at least one repository that does not exist or is not accessible");
          }
        }
        const wanted = (body.permissions ?? inst.permissions) as Record<string, Level>;
        for (const [name, level] of Object.entries(wanted)) {
          const has = inst.permissions[name];
          if (has === undefined || RANK[level] === undefined || RANK[level] > RANK[has]) {
            return message(422, "The permissions requested are not granted to this installation.");
          }
        }
        const token = newToken();
        const repositories = Array.isArray(wantedRepos) ? wantedRepos.map(String) : ("all" as const);
        const permissions = { ...wanted, metadata: "read" as Level };
        log.issued.push({ token, installation: inst.id, repositories, permissions, revoked: false });
        const expiresAt = new Date(Math.floor(now() / 1000) * 1000 + 3_600_000)
          .toISOString()
          .replace(".000Z", "Z");
        return json(201, {
          token,
          expires_at: expiresAt,
          permissions,
          repository_selection: repositories === "all" ? "all" : "selected",
          ...(repositories === "all"
            ? {}
            : {
                repositories: repositories.map((name, i) => ({
                  id: 1000 + i,
                  name,
                  full_name: `${inst.login}/${name}`,
                })),
              }),
        });
      }

      if (req.method === "GET" && path === "/installation/repositories") {
        if (!tokenAuth) return message(401, "Bad credentials");
        const inst = [...installations.values()].find((i) => i.id === tokenAuth.installation);
        const names = tokenAuth.repositories === "all" ? (inst?.repositories ?? []) : tokenAuth.repositories;
        return json(200, {
          total_count: names.length,
          repositories: names.map((name) => ({ name, full_name: `${inst?.login}/${name}` })),
        });
      }

      if (req.method === "DELETE" && path === "/installation/token") {
        if (!tokenAuth) return message(401, "Bad credentials");
        tokenAuth.revoked = true;
        res.writeHead(204).end();
        return;
      }
      return message(404, "Not Found");
    }),
  );
  const port = await listenOnLoopback(server);
  return {
    apiUrl: `http://127.0.0.1:${port}${prefix}`,
    ...log,
    get rejectedJwts() {
      return state.rejectedJwts;
    },
    install(i) {
      const inst = { ...i, id: nextId++ };
      installations.set(i.login.toLowerCase(), inst);
      return inst;
    },
    uninstall(login) {
      installations.delete(login.toLowerCase());
    },
    close: () => closeServer(server),
  };
}
