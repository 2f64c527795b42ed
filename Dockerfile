# smppguard — multi-stage build: compile TypeScript, then a slim runtime as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A larger young generation keeps in-flight request objects out of the old generation (README, Tuning).
ENV NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY rules ./rules
# The decision archive's directory (a volume in deploy/docker-compose.yml), writable by the gateway.
RUN mkdir -p /data/archive /app/config/data/archive && chown -R node:node /data /app/config/data
COPY models ./models
USER node
# 2775: SMPP for ESMEs; 9090: /metrics, /healthz, /readyz
EXPOSE 2775 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:9090/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start", "--config", "config/gateway.yaml"]
