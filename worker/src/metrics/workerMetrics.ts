import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A worker's Prometheus metrics. Workers have no HTTP server of their own; with
 * SEGMINT_WORKER_METRICS_PORT set they serve these on /metrics and a health check on /healthz
 * (Kubernetes probes, Docker HEALTHCHECK). deploy/prometheus/alerts.yaml names them.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  // prom-client names them process_*, nodejs_*: segmint_worker_process_cpu_seconds_total, …
  collectDefaultMetrics({ register: registry, prefix: 'segmint_worker_' });
  const m = {
    registry,
    segments: new Counter({ name: 'segmint_worker_segments_total', help: 'Segments this worker finished (done: result accepted) or failed', labelNames: ['outcome'], registers: [registry] }),
    redemptionRounds: new Counter({ name: 'segmint_worker_redemption_rounds_total', help: 'Rounds of winning-ticket redemption: ok, or failed (a batch still failed after its retries; retried next round)', labelNames: ['outcome'], registers: [registry] }),
    ticketsRedeemed: new Counter({ name: 'segmint_worker_tickets_redeemed_total', help: 'Winning tickets redeemed on-chain by this worker', registers: [registry] }),
  };
  for (const outcome of ['done', 'failed']) m.segments.inc({ outcome }, 0);
  for (const outcome of ['ok', 'failed']) m.redemptionRounds.inc({ outcome }, 0);
  return m;
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * Serves /metrics and /healthz (200 while `healthy()` says so, else 503) on host:port.
 * @example
 * const server = await serveWorkerMetrics(metrics, { host: '0.0.0.0', port: 9464, healthy: () => true });
 */
export async function serveWorkerMetrics(metrics: WorkerMetrics, o: { host: string; port: number; healthy: () => boolean }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/healthz', async (_req, reply) => (o.healthy() ? { status: 'ok' } : reply.code(503).send({ status: 'starting or stopping' })));
  await app.listen({ host: o.host, port: o.port });
  return app;
}
