# syntax=docker/dockerfile:1
# Segmint worker whose ffmpeg can encode with NVENC on a host with an NVIDIA GPU. Build from the
# repository root:
#   docker build -f deploy/docker/worker-nvenc.Dockerfile -t segmint/worker-nvenc .
# Run with the NVIDIA Container Toolkit (`docker run --gpus all …`, compose `gpus: all`, or a
# Kubernetes node with the NVIDIA device plugin and `nvidia.com/gpu: 1`): it mounts the driver's
# libnvidia-encode into the container. Debian's ffmpeg is built with NVENC (it loads the driver
# library at run time); the worker's own probe (`ffmpeg -encoders` plus a one-frame trial encode)
# picks h264_nvenc only when that trial works, else it falls back to libx264.
# Not run here: no GPU with NVENC on the machines this was written on (see README).

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

FROM node:20-bookworm-slim AS worker-nvenc
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,video,utility \
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
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/segmint", "worker"]
CMD ["start"]
