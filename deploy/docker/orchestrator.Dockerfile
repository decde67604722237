# syntax=docker/dockerfile:1
# Segmint orchestrator. Build from the repository root:
#   docker build -f deploy/docker/orchestrator.Dockerfile -t segmint/orchestrator .
# Targets: `orchestrator` (default, the last stage) and `tools` (every dev dependency: anvil,
# forge, the contracts deploy script; compose runs anvil and the contract deployment with it).

# --- dependencies (production only). Install scripts stay off, as on the dev machines: the
# packages ship their binaries (ffmpeg, libsecp256k1's N-API build, esbuild for tsx).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY media/package.json media/
COPY orchestrator/package.json orchestrator/
COPY worker/package.json worker/
COPY edge/package.json edge/
COPY contracts/package.json contracts/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- tools: all dependencies and the whole workspace (anvil, forge, contracts deploy).
FROM deps AS tools
RUN npm ci --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY . .
# compose mounts the shared deployments volume here: owned by node so the deploy can write it.
RUN mkdir -p /deployments && chown node:node /deployments
USER node

# --- the orchestrator: sources run through tsx (bin/segmint), no build step.
FROM node:20-bookworm-slim AS orchestrator
ENV NODE_ENV=production \
    SEGMINT_HTTP_HOST=0.0.0.0 \
    SEGMINT_RTMP_HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY protocol ./protocol
COPY media ./media
COPY orchestrator ./orchestrator
COPY contracts/package.json ./contracts/package.json
COPY worker/package.json ./worker/package.json
COPY deploy/chains ./deploy/chains
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8935 1935
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SEGMINT_HTTP_PORT||8935)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stops taking work, closes the HTTP and RTMP servers and the queues, then exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/segmint", "orchestrator"]
CMD ["start"]
