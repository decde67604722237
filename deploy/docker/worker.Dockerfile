# syntax=docker/dockerfile:1
# Segmint worker (CPU: libx264 from the bundled static ffmpeg). Build from the repository root:
#   docker build -f deploy/docker/worker.Dockerfile -t segmint/worker .
# The NVENC variant is worker-nvenc.Dockerfile.

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

FROM node:20-bookworm-slim AS worker
# Key, calibration cache and the ticket book (winning tickets: must survive restarts) live in
# /home/node/.segmint: mount a persistent volume there, one per worker.
ENV NODE_ENV=production \
    SEGMINT_WORKER_METRICS_HOST=0.0.0.0 \
    SEGMINT_WORKER_METRICS_PORT=9464 \
    SEGMINT_PAYMENTS_DIR=/home/node/.segmint/payments
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY protocol ./protocol
COPY media ./media
COPY worker ./worker
COPY orchestrator/package.json ./orchestrator/package.json
COPY contracts/package.json ./contracts/package.json
COPY deploy/chains ./deploy/chains
RUN mkdir -p /home/node/.segmint && chown node:node /home/node/.segmint
USER node
VOLUME /home/node/.segmint
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SEGMINT_WORKER_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stops heartbeating (wins nothing new), finishes the segments in hand, closes the
# ticket book, exits. Give it the segment deadline plus the result grace (see README) to do so.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/segmint", "worker"]
CMD ["start"]
