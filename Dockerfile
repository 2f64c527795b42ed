# smppguard — multi-stage build: compile TypeScript and native modules, then a slim runtime that
# holds only what runs (dist/src, config, rules, models if present, production node_modules) as a
# non-root user. test/deploy/dockerfile.test.ts checks this file; .ci/dockerfile-build-stage runs
# the build stage's steps on the CI machine.
FROM node:20-bookworm-slim AS build
# Native modules (re2) are compiled from the sources in their npm packages: nothing is downloaded
# besides the packages themselves, so a build behind a registry mirror (air-gapped) works.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# DOWNLOAD_FORCE_BUILD: re2's installer builds instead of fetching a prebuilt binary from GitHub;
# npm_config_nodedir: node-gyp uses this Node's own headers instead of downloading them.
RUN DOWNLOAD_FORCE_BUILD=1 npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")" npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY src ./src
COPY rules ./rules
COPY . /tmp/context
RUN npx tsc -p tsconfig.image.json && cp -r src/store/lua dist/src/store/ && cp -r src/console/assets dist/src/console/ \
  && mkdir -p models && if [ -d /tmp/context/models ]; then cp -r /tmp/context/models/. models/; fi \
  && rm -rf /tmp/context && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# The configuration `start` and the healthcheck read; SMPPGUARD_* variables override any key of it
# (docs/operations.md, Configuration from the environment). Set it empty for the environment alone.
ENV SMPPGUARD_CONFIG=config/gateway.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/models ./models
COPY package.json ./
COPY config ./config
COPY rules ./rules
# The decision archive's directory (a volume in deploy/docker-compose.yml), writable by the gateway.
RUN mkdir -p /data/archive /app/config/data/archive && chown -R node:node /data /app/config/data
USER node
# 2775: SMPP for ESMEs; 9090: /metrics, /healthz, /readyz, the admin API (http.port)
EXPOSE 2775 9090
# Asks /healthz on the port the configuration names (file and SMPPGUARD_* variables), not a fixed one.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/cli/main.js", "healthcheck"]
# The gateway's V8 flags (src/cli/node-flags.ts) for every command; only `start` needs them.
ENTRYPOINT ["node", "--max-semi-space-size=64", "--initial-old-space-size=256", "dist/src/cli/main.js"]
CMD ["start"]
