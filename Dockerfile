# syntax=docker/dockerfile:1
#
# wif-broker container image.
#
#   docker build -t wif-broker:0.1.0 .
#   docker run --rm -p 8080:8080 wif-broker:0.1.0       # embedded default config: demo only, ephemeral key
#   docker run --rm -p 8080:8080 \
#     -v "$PWD/wif-broker.yaml:/etc/wif-broker/wif-broker.yaml:ro" \
#     wif-broker:0.1.0 serve --config /etc/wif-broker/wif-broker.yaml
#
# deploy/kubernetes and deploy/compose.yaml show the full setup (config, policies, keys, Redis).
#
# Build stage: install with the lockfile, compile TypeScript, drop dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NODE_ENV=development \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` script compiles src/, which is not copied yet (keeps this
# layer cached across source changes); no runtime dependency needs an install script.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The playground's browser bundle (esbuild, a dev dependency) is built next to the compiled server.
COPY scripts/build-playground.ts ./scripts/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && npm cache clean --force

# Runtime stage: Node 24 slim, no build tools, non-root.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# uid/gid 10001: outside the ranges Debian and most hosts hand out, matches runAsUser in deploy/kubernetes.
# /etc/wif-broker/{config,policies,keys} are mount points (ConfigMaps and a Secret in Kubernetes,
# bind mounts or a named volume in compose); keys/ is owned by the service user so that a fresh named
# volume mounted there (compose's keygen) inherits that ownership.
RUN groupadd --system --gid 10001 wif-broker \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin wif-broker \
 && mkdir -p /etc/wif-broker/config /etc/wif-broker/policies /etc/wif-broker/keys \
 && chown 10001:10001 /etc/wif-broker/keys \
 && chmod 0700 /etc/wif-broker/keys
# Everything the service reads is owned by root and not writable by the service user.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY policies ./policies
USER 10001:10001
# V8 grows the young generation to 64 MiB per semi-space during a large policy load and keeps it: 16 MiB holds a
# 10,000-policy set within 200 MiB RSS and costs nothing measurable on /token (docs/architecture.md, Memory).
ENV NODE_OPTIONS=--max-semi-space-size=16
EXPOSE 8080
# No curl/wget in the slim image: Node's own fetch probes the liveness endpoint (PORT env honoured).
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM goes straight to node (exec form, PID 1): readiness fails, in-flight requests drain, then exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
